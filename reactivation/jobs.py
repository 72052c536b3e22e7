"""Periodic jobs of the reactivation app (registered at import by AppConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core import scheduling
from reactivation import services
from reactivation.models import ReactivationRequest
from reactivation.tasks import EMAIL_BATCH, emails_dispatch

# A request still without its email this long after creation was never queued (broker
# down at commit time, worker killed): queue it again.
EMAIL_SWEEP_AFTER = timedelta(minutes=2)
EMAIL_SWEEP_LIMIT = 20 * EMAIL_BATCH


@scheduling.register_job("reactivation_expire", queue="billing")
def reactivation_expire() -> int:
    """Record every pending request past its 72 hours as `expired`, exactly once."""
    total = 0
    while True:
        done = services.reactivation_requests_expire_due()
        total += done
        if done < 1000:
            return total


@scheduling.register_job("reactivation_email_sweep", queue="email")
def reactivation_email_sweep() -> int:
    cutoff = timezone.now() - EMAIL_SWEEP_AFTER
    ids = list(
        ReactivationRequest.objects.filter(
            status=ReactivationRequest.Status.PENDING,
            emailed_at__isnull=True,
            created_at__lte=cutoff,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:EMAIL_SWEEP_LIMIT]
    )
    emails_dispatch(ids)
    return len(ids)
