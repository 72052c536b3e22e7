"""Celery tasks: thin adapters that take ids, reload, and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core import scheduling
from subscriptions import outbox
from subscriptions.models import SubscriptionEvent

logger = logging.getLogger(__name__)


@shared_task(queue="events", acks_late=True, max_retries=5, ignore_result=True)
def process_event(event_id: int) -> None:
    event_process_counted(event_id)


@shared_task(queue="events", acks_late=True, ignore_result=True)
def process_events(event_ids: list[int]) -> None:
    """Several events in one message (batch jobs). One event's failure does not hold
    back the others: it is logged and left to the sweeper, like a failed single task."""
    for event_id in event_ids:
        try:
            event_process_counted(event_id)
        except Exception:
            logger.exception("event %s failed; the outbox sweeper will retry it", event_id)


def event_process_counted(event_id: int) -> None:
    # Count the attempt before running, so an event that crashes its worker every time
    # (never reaching an except clause) still stops after OUTBOX_MAX_ATTEMPTS.
    counted = outbox.event_count_attempt(event_id=event_id)
    if counted is None:
        return
    attempts, previous_error = counted
    if attempts > settings.OUTBOX_MAX_ATTEMPTS:
        # No exception was recorded when the worker itself died under the event.
        cause = previous_error or "the worker processing it died (killed or crashed)"
        SubscriptionEvent.objects.filter(pk=event_id).update(
            failed_at=timezone.now(),
            last_error=f"gave up after {attempts - 1} attempts; last error: {cause}"[:2000],
        )
        logger.error(
            "event %s failed after %s attempts; recorded as failed", event_id, attempts - 1
        )
        return
    outbox.event_process(event_id=event_id)


@shared_task(queue="billing", ignore_result=True, expires=120)
def run_scheduled_job(name: str) -> int:
    job = scheduling.jobs().get(name)
    if job is None:
        logger.error("unknown scheduled job %s", name)
        return 0
    return job.func()


@shared_task(queue="billing", ignore_result=True, expires=60)
def run_due_jobs() -> None:
    """Beat's single entry: enqueue every registered job on its own queue."""
    for job in scheduling.jobs().values():
        run_scheduled_job.apply_async(args=(job.name,), queue=job.queue, expires=120)


@shared_task(queue="billing", ignore_result=True)
def charge_settle_now(charge_id: int) -> None:
    """A processor's webhook said an open charge's payment finished: settle it now."""
    from subscriptions.renewals import charge_settle_now as settle

    settle(charge_id=charge_id)
