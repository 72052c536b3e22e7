"""Facts: what conditions are evaluated against, built from an event or a subscription.

For an event, facts come from the event and its subscription as it is when evaluated:
- `previous_status`: the event's `from`, for `subscription.status_changed` events only;
- `reactivation.mode`: the event's `mode`, for `reactivation.*` events only;
- `retention.offer`: the kind of offer taken (`subscription.retained`) or declined (the
  cancellation's `subscription.status_changed`), for those events only;
- `days_since_start`: whole local calendar days in the creator's time zone from the day
  the subscription started to the day the event occurred
  (`local_date(occurred_at) - local_date(started_at)`; 0 on the day it started);
- everything else from the subscription, its plan and subscriber.
For a current subscription (the builder's "N current subscriptions match"), the reference
day is today in the creator's time zone and the event-only fields are empty.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from subscriptions.events import SEGMENTATION_EVENT_TRIGGERS, EventType
from subscriptions.models import Status, Subscription, SubscriptionEvent

STATUS_CHANGED = EventType.SUBSCRIPTION_STATUS_CHANGED.value
RETAINED = EventType.SUBSCRIPTION_RETAINED.value
STATUS_TRIGGERS = tuple(
    s for s in Status.values if s != Status.STARTED
)  # a subscription never "becomes" STARTED: it is created so
# The event types flagged as triggers in the vocabulary (SPEC §8.1).
EVENT_TRIGGERS = SEGMENTATION_EVENT_TRIGGERS
TRIGGERS = STATUS_TRIGGERS + EVENT_TRIGGERS
REACTIVATION_EVENT_PREFIX = "reactivation."


def trigger_for_event(event: SubscriptionEvent) -> str | None:
    """The rule trigger an event fires: the new status of a status change, or its type."""
    if event.type == STATUS_CHANGED:
        to = (event.data or {}).get("to")
        return to if to in STATUS_TRIGGERS else None
    return event.type if event.type in EVENT_TRIGGERS else None


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def subscription_facts(subscription: Subscription, *, today: date) -> dict[str, Any]:
    """Facts of a subscription's current state; `today` is the creator's local date."""
    plan, subscriber = subscription.plan, subscription.subscriber
    tz = subscription.creator.tz
    return {
        "plan": str(plan.uuid),
        "price": plan.price,
        "currency": plan.currency,
        "period": plan.period,
        "recurrence": subscription.recurrence,
        "days_since_start": (today - local_day(subscription.started_at, tz)).days,
        "cancellation_reason": subscription.cancellation_reason or "",
        "previous_status": "",
        "subscriber.email": subscriber.email,
        "subscriber.locale": subscriber.locale,
        "reactivation.mode": "",
        "retention.offer": "",
    }


def event_facts(event: SubscriptionEvent, subscription: Subscription) -> dict[str, Any]:
    tz = subscription.creator.tz
    facts = subscription_facts(subscription, today=local_day(event.occurred_at, tz))
    data = event.data or {}
    if event.type == STATUS_CHANGED:
        facts["previous_status"] = _text(data.get("from"))
    if event.type.startswith(REACTIVATION_EVENT_PREFIX):
        facts["reactivation.mode"] = _text(data.get("mode"))
    if event.type == RETAINED:
        offer = data.get("offer")
        facts["retention.offer"] = _text(offer.get("kind")) if isinstance(offer, dict) else ""
    elif event.type == STATUS_CHANGED:
        facts["retention.offer"] = _text(data.get("retention_offer"))
    return facts
