"""Periodic jobs of the subscriptions app (registered at import by AppConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.services import idempotency_records_purge
from core import scheduling
from subscriptions import outbox, renewals
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


@scheduling.register_job("idempotency_purge", queue="events")
def idempotency_purge() -> int:
    """Delete stored `Idempotency-Key` answers older than their 24 hours."""
    return idempotency_records_purge()


@scheduling.register_job("renewals")
def renewals_job() -> int:
    """Charge renewals that fell due (SPEC §4.3)."""
    stats = renewals.renewals_run()
    return stats.claimed


@scheduling.register_job("renewal_retries")
def renewal_retries_job() -> int:
    """Retry declined renewals on the creator's retry days."""
    return renewals.retries_run().claimed


@scheduling.register_job("resumes")
def resumes_job() -> int:
    """Resume pauses that end today: ACTIVE again, the new period charged as a renewal."""
    return renewals.resumes_run().claimed


@scheduling.register_job("first_charge_retries")
def first_charge_retries_job() -> int:
    """Retry first charges that met a transient error; INACTIVE when the schedule ends."""
    return renewals.first_charges_run().claimed
