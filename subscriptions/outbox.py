"""The event stream of SPEC §4.5: written with the change, published after commit.

Apps that react to subscription events (segmentation, webhooks, reactivation emails)
register a consumer here from their AppConfig.ready(); `subscriptions` never imports them.
Each consumer must be idempotent per event: the sweeper re-publishes any event whose
processing did not finish, so a consumer may see an event more than once.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.bulk import bulk_insert_rows
from core.claims import claim_rows
from core.enqueue import enqueue_chunks
from subscriptions.events import EventType, is_known
from subscriptions.models import Subscription, SubscriptionEvent

logger = logging.getLogger(__name__)

Consumer = Callable[[SubscriptionEvent], None]
_CONSUMERS: dict[str, Consumer] = {}
# Events per broker message: one message per event would make publishing, not the
# database, the bottleneck of a batch job that writes 100,000 events.
PUBLISH_CHUNK = 100
# Set inside `events_batched()`: event_record collects here instead of inserting.
_BATCH: contextvars.ContextVar[list[SubscriptionEvent] | None] = contextvars.ContextVar(
    "outbox_batch", default=None
)


class UnknownEventType(ValueError):
    """An emit site used a type that `subscriptions.events.EventType` does not name."""


def _checked(event_type: str) -> str:
    if not is_known(event_type):
        raise UnknownEventType(
            f"{event_type!r} is not an EventType; add it to subscriptions/events.py"
        )
    return str(event_type)


def register_consumer(name: str, consumer: Consumer) -> None:
    _CONSUMERS[name] = consumer


def consumers() -> dict[str, Consumer]:
    return dict(_CONSUMERS)


def event_record(
    *,
    subscription: Subscription,
    type: EventType,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> SubscriptionEvent:
    """Append an event in the caller's transaction and publish it once that commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction that makes the change")
    event = SubscriptionEvent(
        creator_id=subscription.creator_id,
        subscription=subscription,
        type=_checked(type),
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
    )
    batch = _BATCH.get()
    if batch is not None:
        batch.append(event)
        return event
    event.save(force_insert=True)
    transaction.on_commit(lambda: publish(event.pk))
    return event


@contextmanager
def events_batched() -> Iterator[list[SubscriptionEvent]]:
    """Within the block `event_record` collects events; they are bulk-inserted when the
    block ends without error. Lets batch jobs reuse the single-row services (which
    record their own events) at bulk-insert speed. Use inside the transaction."""
    if _BATCH.get() is not None:
        raise RuntimeError("events_batched() does not nest")
    collected: list[SubscriptionEvent] = []
    token = _BATCH.set(collected)
    try:
        yield collected
    finally:
        _BATCH.reset(token)
    if collected:
        events_record_bulk(collected)


def events_record_bulk(events: list[SubscriptionEvent]) -> list[SubscriptionEvent]:
    """Bulk variant for batch services; same guarantees as `event_record`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "events_record_bulk must run inside the transaction that makes the change"
        )
    for event_type in {event.type for event in events}:
        _checked(event_type)
    for event in events:
        # The plain value, not the enum member: the bulk insert adapts exact types.
        event.type = str(event.type)
    bulk_insert_rows(events)
    ids = [e.pk for e in events]
    transaction.on_commit(lambda: publish_many(ids))
    return events


def event_subscription(event: SubscriptionEvent) -> Subscription:
    """The event's subscription with its plan (and product), subscriber and creator: the
    instance `event_process` loaded with the event (one query for every consumer), or
    read now for an event loaded some other way."""
    cache = event._state.fields_cache
    subscription = cache.get("subscription")
    if (
        isinstance(subscription, Subscription)
        and {"plan", "subscriber"} <= set(subscription._state.fields_cache)
        and "product" in subscription.plan._state.fields_cache
    ):
        if "creator" in cache and "creator" not in subscription._state.fields_cache:
            subscription.creator = cache["creator"]
        return subscription
    return Subscription.objects.select_related("plan__product", "subscriber", "creator").get(
        pk=event.subscription_id
    )


def publish(event_id: int) -> None:
    publish_many([event_id])


def publish_many(event_ids: list[int]) -> None:
    """Hand events to Celery. A broker outage is logged, not raised: the sweeper retries."""
    from subscriptions.tasks import process_event, process_events

    enqueue_chunks(
        event_ids, size=PUBLISH_CHUNK, many=process_events, one=process_event, what="event(s)"
    )


def event_count_attempt(*, event_id: int) -> tuple[int, str] | None:
    """Count one processing attempt of a pending event; return (attempts so far, last
    error), or None when it is processed, failed or gone. One claim (the ORM's update
    cannot return the new count: that took a second query)."""
    rows = claim_rows(
        SubscriptionEvent,
        ids=[event_id],
        where={"processed_at": None, "failed_at": None},
        increment=("publish_attempts",),
        returning=("publish_attempts", "last_error"),
    )
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def event_process(*, event_id: int) -> bool:
    """Run every consumer on an event once; mark it processed. False if nothing was done."""
    event = (
        # What the consumers read, in one query (not the creator's gateway credentials,
        # which no consumer needs and which cost a decryption per event).
        SubscriptionEvent.objects.select_related(
            "subscription__plan__product", "subscription__subscriber", "creator"
        )
        .defer("creator__gateway_credentials")
        .filter(pk=event_id, processed_at__isnull=True)
        .first()
    )
    if event is None:
        return False
    for name, consumer in _CONSUMERS.items():
        try:
            consumer(event)
        except Exception as exc:
            # The attempt itself was counted by the task before it ran (so that a crash
            # that never reaches this clause counts too); only the error is recorded here.
            SubscriptionEvent.objects.filter(pk=event.pk).update(
                last_error=f"{name}: {exc!r}"[:2000]
            )
            raise
    SubscriptionEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(
        processed_at=timezone.now()
    )
    return True
