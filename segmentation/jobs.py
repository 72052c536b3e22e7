"""Periodic work of segmentation: deliveries due again are data, claimed here
(SPEC §4.5: no long Celery countdowns)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core import scheduling
from segmentation.consumer import deliveries_enqueue
from segmentation.models import SegmentationDelivery
from segmentation.services import SENDING_STALE_AFTER

BATCH = 1000
# A pending delivery queued this long ago without being claimed lost its message
# (broker outage, or prefetched by a worker that was killed): queue it again.
PENDING_REQUEUE_AFTER = timedelta(minutes=2)

S = SegmentationDelivery.Status


@scheduling.register_job("segmentation_deliveries_due", queue="deliveries")
def deliveries_requeue_due() -> int:
    """Queue retrying deliveries whose time has come, pending ones whose message was lost,
    and recover ones stuck in `sending` for over 5 minutes (their worker died)."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            SegmentationDelivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=[S.RETRYING, S.PENDING], next_attempt_at__lte=now)
            .exclude(status=S.PENDING, next_attempt_at__gt=now - PENDING_REQUEUE_AFTER)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:BATCH]
        )
        stuck = list(
            SegmentationDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=S.SENDING, started_at__lte=now - SENDING_STALE_AFTER)
            .values_list("pk", flat=True)[:BATCH]
        )
        SegmentationDelivery.objects.filter(pk__in=due).update(
            status=S.PENDING, next_attempt_at=now
        )
        SegmentationDelivery.objects.filter(pk__in=stuck, status=S.SENDING).update(
            status=S.PENDING,
            next_attempt_at=now,
            error="the worker stopped during the attempt; sending again",
        )
        ids = due + stuck
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    return len(ids)
