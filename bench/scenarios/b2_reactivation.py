"""B2: bulk reactivation of 10,000 cancelled subscriptions through the API
(`POST /api/v1/reactivation-requests/bulk`, then the email queue on a real Celery worker)
until every email is handed to the email backend, against a `bulk_create` of 10,000
equivalent request rows plus `send_mass_mail` of 10,000 messages to the same backend."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from django.core.mail import send_mass_mail
from django.test import Client
from django.utils import timezone

from bench.data import subscriptions_generate, tenant_create
from bench.harness import Result, Scenario, broker_purge, celery_worker, wait_until
from notifications.models import OutboxEmail
from reactivation.models import ReactivationRequest
from subscriptions.models import Subscription


def run(scale: float) -> Result:
    count = int(10_000 * scale)
    ours = tenant_create(0, prefix="reactivation")
    subscriptions_generate(ours, count, status="CANCELLED_BY_CUSTOMER")
    uuids = [
        str(u)
        for u in Subscription.objects.filter(creator=ours.creator).values_list("uuid", flat=True)
    ]
    OutboxEmail.objects.all().delete()
    broker_purge()
    worker = celery_worker("b2-worker", queues="email", concurrency=2)
    try:
        time.sleep(3)  # let the worker connect before the clock starts
        client = Client()
        start = time.perf_counter()
        answer = client.post(
            "/api/v1/reactivation-requests/bulk",
            data=json.dumps({"subscriptions": uuids, "mode": "reactivate"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {ours.api_key}",
        )
        api_seconds = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"B2: bulk reactivation answered {answer.status_code}")
        created = len(answer.json()["created"])
        all_sent = wait_until(lambda: OutboxEmail.objects.count() >= count, timeout=900, every=0.25)
        product = time.perf_counter() - start
        sent = OutboxEmail.objects.count()
        worker_rss = worker.peak_rss_mb()
    finally:
        worker.stop()
        broker_purge()

    # Baseline: the same rows and the same number of emails, with Django's bulk tools.
    theirs = tenant_create(1, prefix="reactivation")
    subscriptions_generate(theirs, count, status="CANCELLED_BY_CUSTOMER")
    targets = list(Subscription.objects.filter(creator=theirs.creator).select_related("subscriber"))
    OutboxEmail.objects.all().delete()
    start = time.perf_counter()
    now = timezone.now()
    ReactivationRequest.objects.bulk_create(
        [
            ReactivationRequest(
                creator=theirs.creator,
                subscription=s,
                mode="reactivate",
                created_at=now,
                expires_at=now + timedelta(days=3),
                emailed_at=now,
            )
            for s in targets
        ],
        batch_size=1000,
    )
    send_mass_mail(
        [
            (
                "Come back to Course 1",
                f"Hello {s.subscriber.name}, reactivate here: https://example.com/r/{s.uuid}",
                "bench@example.com",
                [s.subscriber.email],
            )
            for s in targets
        ]
    )
    baseline = time.perf_counter() - start
    baseline_sent = OutboxEmail.objects.count()

    return Result(
        id="B2",
        title=f"Bulk reactivation of {count:,} cancelled subscriptions, until emails are sent",
        metric="seconds",
        value=round(product, 3),
        baseline_value=round(baseline, 3),
        target="≤ 2 × baseline",
        better="lower",
        target_ratio=2.0,
        details={
            "subscriptions": count,
            "requests_created": created,
            "emails_sent": sent,
            "api_answer_seconds": round(api_seconds, 3),
            "baseline_emails": baseline_sent,
            "worker_peak_rss_mb": worker_rss,
            "email_backend": "notifications.outbox.OutboxEmailBackend (one row per email)",
            "baseline": "bulk_create of the request rows + send_mass_mail to the same backend",
        },
        extra_checks={
            "every_email_sent": all_sent and sent >= count,
            "worker_rss_under_300mb": worker_rss < 300,
        },
    )


SCENARIO = Scenario("B2", "Bulk reactivation through the API", run)
