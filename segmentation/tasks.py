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
    """The deliveries of one event in one message: a message per delivery made the
    broker round trips, not the provider calls, the cost of a busy rule set (B1 in
    docs/benchmarks.md). Each attempt is claimed on its own, so a duplicate message or
    a delivery already taken by the recovery job is still a no-op."""
    for delivery_id in delivery_ids:
        services.delivery_attempt(delivery_id=delivery_id)
