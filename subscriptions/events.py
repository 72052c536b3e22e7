"""The event vocabulary of SPEC §4.5: every type a `SubscriptionEvent` may carry.

Each type is named once here, with its label (en / pt-BR) and two decisions made for it:
whether segmentation rules may use it as a trigger, and whether outbound webhook
endpoints receive it. The model's choices, the admin filter, segmentation's triggers, the
rule builder, the webhooks' event list and the dashboard timeline all read this module;
`outbox.event_record` refuses a type it does not know.

Adding a type (the lifecycle work: `subscription.plan_changed`, `subscription.paused`,
`subscription.resumed`, …) is one member of `EventType` and one entry in `_FLAGS`;
the import fails until both exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    SUBSCRIPTION_CREATED = "subscription.created", _("Subscription created")
    SUBSCRIPTION_STATUS_CHANGED = "subscription.status_changed", _("Status changed")
    SUBSCRIPTION_RENEWED = "subscription.renewed", _("Subscription renewed")
    SUBSCRIPTION_REACTIVATED = "subscription.reactivated", _("Subscription reactivated")
    CHARGE_SUCCEEDED = "charge.succeeded", _("Charge succeeded")
    CHARGE_FAILED = "charge.failed", _("Charge failed")
    CHARGE_REFUNDED = "charge.refunded", _("Charge refunded")
    CHARGE_CHARGEBACK = "charge.chargeback", _("Chargeback")
    REACTIVATION_REQUESTED = "reactivation.requested", _("Reactivation requested")
    REACTIVATION_ACCEPTED = "reactivation.accepted", _("Reactivation accepted")
    REACTIVATION_REJECTED = "reactivation.rejected", _("Reactivation rejected")
    REACTIVATION_EXPIRED = "reactivation.expired", _("Reactivation expired")
    REACTIVATION_FAILED = "reactivation.failed", _("Reactivation failed")
    PAYMENT_METHOD_UPDATED = "payment_method.updated", _("Payment method updated")
    SUBSCRIPTION_RECOVERED = "subscription.recovered", _("Late payment recovered")
    RENEWAL_UPCOMING = "renewal.upcoming", _("Renewal coming up")
    PAYMENT_METHOD_EXPIRING = "payment_method.expiring", _("Card expiring")
    SUBSCRIPTION_PLAN_CHANGED = "subscription.plan_changed", _("Plan changed")
    SUBSCRIPTION_PAUSED = "subscription.paused", _("Subscription paused")
    SUBSCRIPTION_RESUMED = "subscription.resumed", _("Subscription resumed")
    SUBSCRIPTION_RETAINED = "subscription.retained", _("Kept by an offer")
    TRIAL_STARTED = "trial.started", _("Free trial started")
    TRIAL_ENDING = "trial.ending", _("Free trial ending")
    TRIAL_CONVERTED = "trial.converted", _("Free trial converted")
    SUBSCRIPTION_BILLING_DAY_CHANGED = (
        "subscription.billing_day_changed",
        _("Billing day changed"),
    )


@dataclass(frozen=True)
class EventFlags:
    # A segmentation rule may name the type as a trigger (SPEC §8.1). Status changes
    # trigger through their new status, not through the type.
    segmentation_trigger: bool
    # Outbound webhook endpoints receive it (SPEC §9).
    webhook: bool


_FLAGS: dict[EventType, EventFlags] = {
    EventType.SUBSCRIPTION_CREATED: EventFlags(segmentation_trigger=False, webhook=True),
    EventType.SUBSCRIPTION_STATUS_CHANGED: EventFlags(segmentation_trigger=False, webhook=True),
    EventType.SUBSCRIPTION_RENEWED: EventFlags(segmentation_trigger=False, webhook=True),
    EventType.SUBSCRIPTION_REACTIVATED: EventFlags(segmentation_trigger=False, webhook=True),
    EventType.CHARGE_SUCCEEDED: EventFlags(segmentation_trigger=False, webhook=True),
    EventType.CHARGE_FAILED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.CHARGE_REFUNDED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.CHARGE_CHARGEBACK: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.REACTIVATION_REQUESTED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.REACTIVATION_ACCEPTED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.REACTIVATION_REJECTED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.REACTIVATION_EXPIRED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.REACTIVATION_FAILED: EventFlags(segmentation_trigger=False, webhook=True),
    EventType.PAYMENT_METHOD_UPDATED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.SUBSCRIPTION_RECOVERED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.RENEWAL_UPCOMING: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.PAYMENT_METHOD_EXPIRING: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.SUBSCRIPTION_PLAN_CHANGED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.SUBSCRIPTION_PAUSED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.SUBSCRIPTION_RESUMED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.SUBSCRIPTION_RETAINED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.TRIAL_STARTED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.TRIAL_ENDING: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.TRIAL_CONVERTED: EventFlags(segmentation_trigger=True, webhook=True),
    EventType.SUBSCRIPTION_BILLING_DAY_CHANGED: EventFlags(
        segmentation_trigger=False, webhook=True
    ),
}
if set(_FLAGS) != set(EventType):  # pragma: no cover - a developer's mistake, caught at import
    raise ImportError(
        "every EventType needs its flags in subscriptions.events._FLAGS: "
        f"{sorted(set(EventType) ^ set(_FLAGS))}"
    )


def flags(event_type: str) -> EventFlags:
    return _FLAGS[EventType(event_type)]


# In declaration order, so lists on pages and in the API keep one order.
SEGMENTATION_EVENT_TRIGGERS: tuple[str, ...] = tuple(
    t.value for t in EventType if _FLAGS[t].segmentation_trigger
)
WEBHOOK_EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType if _FLAGS[t].webhook)


_KNOWN = frozenset(EventType.values)


def is_known(event_type: str) -> bool:
    return event_type in _KNOWN


def event_type_label(event_type: str) -> str:
    """The type in the active language; an unknown type (old rows) as it is stored."""
    try:
        return str(EventType(event_type).label)
    except ValueError:
        return event_type
