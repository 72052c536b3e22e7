"""The subscription's state machine (SPEC §4.2, §4.3, §5, §6.1): every change of a
subscription's state is one transition here.

A transition works in memory only: it checks the change is allowed from the current
status (`Conflict` otherwise), sets the fields, and returns the events to record. It
never saves and never writes an event. Whoever holds the row locked applies it, saves
and records the events in the same transaction, in one place each:
`subscriptions.services` for one subscription (`transition_record`), the billing engine
(`subscriptions.renewals`) for a batch, with bulk statements.

The lifecycle work adds its transitions here, in the same pattern, with their event
types in `subscriptions.events` (the rules that choose their arguments live beside
them: subscriptions/plan_changes.py, subscriptions/pauses.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from core.actors import Actor
from core.errors import Conflict
from subscriptions import billing
from subscriptions.cards import card_data, card_expires_on
from subscriptions.events import EventType
from subscriptions.models import (
    CANCELLATION_SOURCE_BY_ACTOR,
    CANCELLED_STATUS_BY_SOURCE,
    CANCELLED_STATUSES,
    Status,
    Subscription,
)
from subscriptions.reactivation_rules import ReactivationOutcome

if TYPE_CHECKING:
    from subscriptions.pause_rules import ResumeOutcome

# Every field a transition may set. The billing engine compares them before and after
# to know which rows changed and which columns to write; a row whose values moved
# between claim and settle was changed by someone else and is not advanced.
FIELDS: tuple[str, ...] = (
    "status",
    "billing_anchor",
    "next_charge_date",
    "paid_through",
    "recurrence",
    "unpaid_recurrences",
    "retry_attempt",
    "next_retry_date",
    "retries_stopped_code",
    "cancelled_at",
    "cancellation_source",
    "cancellation_reason",
    "plan_id",
    "scheduled_plan_id",
    "pause_starts_on",
    "paused_on",
    "resumes_on",
    "billing_day_changed_on",
    "charge_adjustment",
    "charge_adjustment_for",
)


@dataclass(frozen=True)
class Event:
    """An event a transition asks to record with the change."""

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)


def snapshot(subscription: Subscription) -> tuple[Any, ...]:
    return tuple(getattr(subscription, name) for name in FIELDS)


def _status(
    subscription: Subscription, status: str, data: dict[str, Any] | None = None
) -> list[Event]:
    previous = subscription.status
    if previous == status:
        return []
    subscription.status = status
    return [
        Event(
            EventType.SUBSCRIPTION_STATUS_CHANGED,
            {"from": previous, "to": status, **(data or {})},
        )
    ]


# --- money in ------------------------------------------------------------------------


def paid(subscription: Subscription, *, period_start: date) -> list[Event]:
    """The period starting `period_start` was paid: paid_through and the next due date
    move one period on, computed from the anchor (never previous date + period); the
    late-payment counters reset. ACTIVE, or ended when the plan's max_cycles are paid.
    The first period after a free trial also records `trial.converted`."""
    plan = subscription.plan
    n = billing.period_index(subscription.billing_anchor, plan.period, period_start)
    subscription.recurrence += 1
    subscription.unpaid_recurrences = 0
    subscription.retry_attempt = 0
    subscription.next_retry_date = None
    subscription.retries_stopped_code = ""
    subscription.paid_through = billing.due_date(subscription.billing_anchor, plan.period, n + 1)
    converted = (
        [Event(EventType.TRIAL_CONVERTED, {"trial_ended_on": period_start.isoformat()})]
        if subscription.trial_ends_on == period_start and subscription.recurrence == 1
        else []
    )
    if plan.max_cycles is not None and subscription.recurrence >= plan.max_cycles:
        return [*ended(subscription), *converted]
    subscription.next_charge_date = subscription.paid_through
    return [*_status(subscription, Status.ACTIVE), *converted]


def renewed(subscription: Subscription, *, charge: Any) -> list[Event]:
    """A renewal or retry charge was paid: `paid`, plus `subscription.renewed`."""
    events = paid(subscription, period_start=charge.period_start)
    return [
        *events,
        Event(
            EventType.SUBSCRIPTION_RENEWED,
            {
                "charge": str(charge.uuid),
                "period_start": charge.period_start.isoformat(),
                "period_end": charge.period_end.isoformat(),
                "recurrence": subscription.recurrence,
                "kind": charge.kind,
            },
        ),
    ]


def plan_changed(subscription: Subscription, *, plan: Any, data: dict[str, Any]) -> list[Event]:
    """The subscription moves to `plan` (same product and currency): the anchor, the paid
    period and the next due date stay; from the next renewal `plan`'s price is charged.
    A switch scheduled for the renewal is done with. `data` says when and what was
    charged (subscriptions/plan_changes.py)."""
    previous = subscription.plan
    subscription.plan = plan
    subscription.scheduled_plan = None
    return [
        Event(
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            {
                "from": {
                    "plan": str(previous.uuid),
                    "name": previous.name,
                    "price": str(previous.price),
                },
                "to": {"plan": str(plan.uuid), "name": plan.name, "price": str(plan.price)},
                "currency": plan.currency,
                **data,
            },
        )
    ]


def plan_scheduled(subscription: Subscription, *, plan: Any | None) -> list[Event]:
    """`plan` from the next renewal on (None: the scheduled switch is called off)."""
    subscription.scheduled_plan = plan
    return []


def ended(subscription: Subscription) -> list[Event]:
    """Every cycle of the plan is paid: OVERDUE ("Ended"), nothing more to charge."""
    subscription.next_charge_date = None
    return _status(subscription, Status.OVERDUE)


# --- money not in --------------------------------------------------------------------


def declined(
    subscription: Subscription,
    *,
    period_start: date,
    next_retry_date: date | None,
    access: bool = True,
) -> list[Event]:
    """The renewal of the period starting `period_start` was declined: DELAYED (access
    kept), retries from `next_retry_date`, next due date one period on, so the unpaid
    period is always the one before it. Declined while already DELAYED: the previous
    period ended unpaid and counts as one unpaid recurrence."""
    plan = subscription.plan
    if subscription.status == Status.DELAYED:
        subscription.unpaid_recurrences += 1
    n = billing.period_index(subscription.billing_anchor, plan.period, period_start)
    subscription.next_charge_date = billing.due_date(
        subscription.billing_anchor, plan.period, n + 1
    )
    subscription.retry_attempt = 0
    subscription.next_retry_date = next_retry_date
    return _status(
        subscription,
        Status.DELAYED,
        {
            "reason": "renewal_declined",
            "period_start": period_start.isoformat(),
            "access": access,
        },
    )


def retry_declined(subscription: Subscription, *, next_retry_date: date | None) -> list[Event]:
    """A retry was declined: one more attempt counted, the next one scheduled (or none)."""
    subscription.retry_attempt += 1
    subscription.next_retry_date = next_retry_date
    return []


def retries_stopped(subscription: Subscription, *, code: str) -> list[Event]:
    """A hard decline (SPEC §4.6: stolen or lost card, closed account, "do not try
    again"): no automatic charge on this method until it changes."""
    subscription.retries_stopped_code = code[:60]
    return []


def payment_method_changed(
    subscription: Subscription, *, payment_method: str, data: dict[str, Any]
) -> list[Event]:
    """A new payment method: saved, and automatic charges resume on it. Its card's expiry
    is the one `data` carries (unknown until the processor reports it otherwise)."""
    subscription.payment_method = payment_method
    subscription.retries_stopped_code = ""
    subscription.card_expires_on = card_expires_on(data)
    return [Event(EventType.PAYMENT_METHOD_UPDATED, data)]


def recovered(
    subscription: Subscription,
    *,
    charge: Any,
    payment_method: str,
    source: str,
    today: date,
    card: dict[str, Any] | None = None,
) -> list[Event]:
    """The late period was paid at once from the payment page (SPEC §4.6): the method
    saved when it is new, ACTIVE on the original anchor, retries ended, and
    `subscription.recovered`."""
    retries_before = subscription.retry_attempt
    events: list[Event] = []
    if payment_method and payment_method != subscription.payment_method:
        events += payment_method_changed(
            subscription,
            payment_method=payment_method,
            data={"source": source, "gateway": charge.gateway, **card_data(card)},
        )
    events += paid(subscription, period_start=charge.period_start)
    events.append(
        Event(
            EventType.SUBSCRIPTION_RECOVERED,
            {
                "charge": str(charge.uuid),
                "amount": str(charge.amount),
                "currency": charge.currency,
                "period_start": charge.period_start.isoformat(),
                "retries_before": retries_before,
                "days_late": (today - charge.period_start).days,
                "source": source,
            },
        )
    )
    return events


def inactivated(subscription: Subscription, *, reason: str) -> list[Event]:
    """The first charge never went through: INACTIVE, nothing more to charge."""
    subscription.next_charge_date = None
    return _status(subscription, Status.INACTIVE, {"reason": reason})


# --- cancellation and reactivation ---------------------------------------------------


def cancelled(
    subscription: Subscription,
    *,
    actor: Actor,
    reason: str,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> list[Event]:
    """Cancel as the one who acted (SPEC §5): the source follows from the actor's kind
    (member or API key → seller, subscriber → customer, support or system → admin);
    CANCELLED_BY_<source>, cancelled_at, no further charges or retries; paid_through
    unchanged, so access lasts until then. Refused (409) for a cancelled, ended or
    never-active subscription. `data` adds to the event (the retention offer declined)."""
    source = CANCELLATION_SOURCE_BY_ACTOR[actor.kind]
    status = CANCELLED_STATUS_BY_SOURCE[source]
    if subscription.status in CANCELLED_STATUSES:
        raise Conflict("This subscription is already cancelled.", code="already_cancelled")
    if subscription.status == Status.OVERDUE:
        raise Conflict("This subscription has already ended.", code="already_ended")
    if subscription.status == Status.INACTIVE:
        raise Conflict(
            "This subscription never became active; there is nothing to cancel.",
            code="inactive",
        )
    subscription.cancelled_at = at
    subscription.cancellation_source = source
    subscription.cancellation_reason = reason.strip()[:2000]
    subscription.next_charge_date = None
    subscription.next_retry_date = None
    _pause_clear(subscription)
    return _status(
        subscription,
        status,
        {
            "source": source.value,
            "reason": subscription.cancellation_reason,
            "actor": actor.ref,
            **(data or {}),
        },
    )


def cancelled_unpaid(subscription: Subscription, *, at: datetime) -> list[Event]:
    """The period before the due date ended unpaid, the fifth in a row (SPEC §4.3):
    counted, then cancelled by support with reason `unpaid`."""
    subscription.unpaid_recurrences += 1
    return cancelled(subscription, actor=Actor.system(), reason="unpaid", at=at)


def reactivated(
    subscription: Subscription,
    *,
    outcome: ReactivationOutcome,
    charged: bool,
    data: dict[str, Any],
) -> list[Event]:
    """An accepted reactivation (SPEC §6.1) applied: the outcome's dates, ACTIVE, the
    cancellation cleared (its history stays in the events). `charged` counts the paid
    period of `reactivate_and_charge`. Only a cancelled subscription is reactivated."""
    if subscription.status not in CANCELLED_STATUSES:
        raise Conflict("Only a cancelled subscription can be reactivated.", code="not_cancelled")
    subscription.billing_anchor = outcome.billing_anchor
    subscription.next_charge_date = outcome.next_charge_date
    subscription.paid_through = outcome.paid_through
    if charged:
        subscription.recurrence += 1
    subscription.unpaid_recurrences = 0
    subscription.retry_attempt = 0
    subscription.next_retry_date = None
    subscription.cancelled_at = None
    subscription.cancellation_source = ""
    subscription.cancellation_reason = ""
    return [
        *_status(subscription, Status.ACTIVE, data),
        Event(
            EventType.SUBSCRIPTION_REACTIVATED,
            {
                **data,
                "billing_anchor": outcome.billing_anchor.isoformat(),
                "next_charge_date": outcome.next_charge_date.isoformat(),
                "paid_through": outcome.paid_through.isoformat(),
            },
        ),
    ]


# --- pause and resume ----------------------------------------------------------------


def _pause_clear(subscription: Subscription) -> None:
    subscription.pause_starts_on = None
    subscription.paused_on = None
    subscription.resumes_on = None


def pause_scheduled(
    subscription: Subscription, *, starts_on: date | None, resumes_on: date | None
) -> list[Event]:
    """A pause from `starts_on` (the next due date: the renewal run pauses instead of
    charging), resuming on `resumes_on` (None: until someone resumes it). `starts_on`
    None calls a scheduled pause off. Nothing is recorded until the pause begins."""
    if subscription.status != Status.ACTIVE:
        raise Conflict("Only an active subscription can be paused.", code="not_active")
    subscription.pause_starts_on = starts_on
    subscription.resumes_on = resumes_on if starts_on is not None else None
    return []


def paused(
    subscription: Subscription,
    *,
    on: date,
    resumes_on: date | None,
    access_until: date | None,
    data: dict[str, Any],
) -> list[Event]:
    """PAUSED from the local date `on`: nothing is charged or retried until it resumes
    (on `resumes_on`, or when someone resumes it). The anchor and `paid_through` stay,
    so a resume inside the paid period charges nothing. `access_until` is the product's
    access rule applied (SPEC §4.7), sent with the events for integrations to follow."""
    if subscription.status != Status.ACTIVE:
        raise Conflict("Only an active subscription can be paused.", code="not_active")
    subscription.paused_on = on
    subscription.pause_starts_on = None
    subscription.resumes_on = resumes_on
    subscription.next_charge_date = None
    subscription.next_retry_date = None
    details = {
        "paused_on": on.isoformat(),
        "resumes_on": resumes_on.isoformat() if resumes_on else None,
        "access_until": access_until.isoformat() if access_until else None,
        **data,
    }
    return [
        *_status(subscription, Status.PAUSED, {"reason": "paused", **details}),
        Event(EventType.SUBSCRIPTION_PAUSED, details),
    ]


def resumed(
    subscription: Subscription, *, outcome: ResumeOutcome, data: dict[str, Any]
) -> list[Event]:
    """ACTIVE again with the outcome's dates (subscriptions/pauses.py); when the outcome
    starts a new period today, `next_charge_date` is today and the renewal run charges
    it, with the key any renewal of that period would use."""
    if subscription.status != Status.PAUSED:
        raise Conflict("Only a paused subscription can be resumed.", code="not_paused")
    paused_on = subscription.paused_on
    subscription.billing_anchor = outcome.billing_anchor
    subscription.next_charge_date = outcome.next_charge_date
    subscription.paid_through = outcome.paid_through
    _pause_clear(subscription)
    details = {
        "how": outcome.how,
        "paused_on": paused_on.isoformat() if paused_on else None,
        "billing_anchor": outcome.billing_anchor.isoformat(),
        "next_charge_date": outcome.next_charge_date.isoformat(),
        "charge_now": outcome.charge_now,
        **data,
    }
    return [
        *_status(subscription, Status.ACTIVE, {"reason": "resumed"}),
        Event(EventType.SUBSCRIPTION_RESUMED, details),
    ]


def retained(
    subscription: Subscription, *, offer: dict[str, Any], reason: str, actor: Actor
) -> list[Event]:
    """The subscriber took the product's offer instead of cancelling (the offer's own
    change, a pause or a plan switch, is its own transition)."""
    data = {"offer": offer, "reason": reason.strip()[:2000], "actor": actor.ref}
    return [Event(EventType.SUBSCRIPTION_RETAINED, data)]


def billing_day_changed(
    subscription: Subscription,
    *,
    anchor: date,
    next_charge_date: date,
    adjustment: Any,
    on: date,
    data: dict[str, Any],
) -> list[Event]:
    """The due dates move to a new series (subscriptions/billing_day.py): the next charge
    on `next_charge_date`, paid through it, and `adjustment` (signed) added to that
    period's charge."""
    if subscription.status != Status.ACTIVE or subscription.next_charge_date is None:
        raise Conflict("Only an active subscription can change its billing day.", code="not_active")
    previous = subscription.next_charge_date
    subscription.billing_anchor = anchor
    subscription.next_charge_date = next_charge_date
    subscription.paid_through = next_charge_date
    subscription.charge_adjustment = adjustment
    subscription.charge_adjustment_for = next_charge_date
    subscription.billing_day_changed_on = on
    details = {
        "from": previous.isoformat(),
        "to": next_charge_date.isoformat(),
        "day": next_charge_date.day,
        "adjustment": str(adjustment),
        **data,
    }
    return [Event(EventType.SUBSCRIPTION_BILLING_DAY_CHANGED, details)]
