"""Periodic jobs of the subscriptions app (registered at import by AppConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from subscriptions import outbox, scheduling
from subscriptions.models import SubscriptionEvent

SWEEP_BATCH = 1000


@scheduling.register_job("outbox_sweep", queue="events")
def outbox_sweep() -> int:
    """Re-publish events written but not processed, e.g. when the broker was down at
    commit time or the process died between COMMIT and publishing."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    ids = list(
        SubscriptionEvent.objects.filter(
            processed_at__isnull=True, failed_at__isnull=True, occurred_at__lte=cutoff
        )
        .order_by("occurred_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    outbox.publish_many(ids)
    return len(ids)
