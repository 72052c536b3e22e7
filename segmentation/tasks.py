"""Celery tasks of segmentation: thin adapters over `segmentation.services`."""

from __future__ import annotations

from celery import shared_task

from segmentation import services


@shared_task(queue="deliveries", acks_late=True, ignore_result=True)
def delivery_run(delivery_id: int) -> str | None:
    # The claim (pending → sending) makes a duplicate message a no-op.
    return services.delivery_attempt(delivery_id=delivery_id)
