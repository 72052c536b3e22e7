"""Periodic jobs of the recovery app (registered at import by AppConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core import scheduling
from recovery import email
from recovery.models import PaymentLink

# A link still without its email this long after it was issued was never queued
# (broker down at commit time, worker killed): send it now.
EMAIL_SWEEP_AFTER = timedelta(minutes=2)
EMAIL_SWEEP_LIMIT = 500


@scheduling.register_job("payment_email_sweep", queue="email")
def payment_email_sweep() -> int:
    now = timezone.now()
    ids = list(
        PaymentLink.objects.filter(
            purpose__in=list(email.TEMPLATES),
            emailed_at__isnull=True,
            created_at__lte=now - EMAIL_SWEEP_AFTER,
            expires_at__gt=now,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:EMAIL_SWEEP_LIMIT]
    )
    return email.payment_emails_send(link_ids=ids) if ids else 0
