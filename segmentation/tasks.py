"""Celery tasks of segmentation: thin adapters over `segmentation.services`."""

from __future__ import annotations

from celery import shared_task

from segmentation import services


@shared_task(queue="deliveries", acks_late=True, ignore_result=True)
def delivery_run(delivery_id: int) -> str | None:
    # The claim (pending → sending) makes a duplicate message a no-op.
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(queue="deliveries", acks_late=True, ignore_result=True)
def deliveries_run(delivery_ids: list[int]) -> None:
    """Several deliveries in one message, claimed, loaded and recorded together: a
    message and four queries per delivery made the broker and database round trips, not
    the provider calls, the cost of a busy rule set (B1 in docs/benchmarks.md). The claim
    is conditional, so a duplicate message or a delivery the recovery job took is a
    no-op."""
    services.deliveries_attempt(delivery_ids=delivery_ids)
