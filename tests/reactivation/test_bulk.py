"""Bulk reactivation (SPEC §6.3): 10,000 subscriptions in one action, in seconds."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reactivation import selectors, services
from reactivation.models import ReactivationBatch, ReactivationRequest
from subscriptions.models import Status, Subscriber, Subscription, SubscriptionEvent
from tests.api_helpers import api_client
from tests.factories import TEST_ACTOR, PlanFactory
from tests.reactivation.factories import LINK, cancelled_subscription

pytestmark = pytest.mark.django_db


def _cancelled_in_bulk(plan, n):  # type: ignore[no-untyped-def]
    creator = plan.creator
    subscribers = Subscriber.objects.bulk_create(
        [
            Subscriber(
                creator=creator,
                email=f"bulk{i}@example.com",
                name=f"Bulk {i}",
                locale="en" if i % 2 else "pt-BR",
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    today = timezone.localdate(now, creator.tz)
    return Subscription.objects.bulk_create(
        [
            Subscription(
                creator=creator,
                subscriber=subscriber,
                plan=plan,
                status=Status.CANCELLED_BY_CUSTOMER,
                payment_method="pm_sandbox_ok",
                started_at=now - timedelta(days=40),
                billing_anchor=today - timedelta(days=40),
                paid_through=today - timedelta(days=10),
                cancelled_at=now - timedelta(days=20),
                cancellation_source="customer",
            )
            for subscriber in subscribers
        ],
        batch_size=2000,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_bulk_of_10000_cancelled_subscriptions(
    mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    # Event delivery to consumers is the outbox's job (tested there); here we count what is
    # handed to it instead of running 10,000 event tasks in this process.
    published: list[int] = []
    monkeypatch.setattr("subscriptions.outbox.publish_many", published.extend)
    plan = PlanFactory()
    subscriptions = _cancelled_in_bulk(plan, 10_000)
    client = api_client(plan.creator)
    ids = [str(s.uuid) for s in subscriptions]

    started, cpu_started = time.perf_counter(), time.process_time()
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            "/api/v1/reactivation-requests/bulk",
            {"subscriptions": ids, "mode": "reactivate_and_charge"},
            format="json",
        )
        answered, cpu_answered = time.perf_counter(), time.process_time()
    finished, cpu_finished = time.perf_counter(), time.process_time()
    print(
        f"\nbulk 10,000: API answer {answered - started:.2f}s "
        f"(CPU {cpu_answered - cpu_started:.2f}s), all emails sent after "
        f"{finished - started:.2f}s (CPU {cpu_finished - cpu_started:.2f}s), "
        f"{len(queries)} queries"
    )
    # Wall time depends on the machine; the number of statements does not. A query per
    # subscription anywhere (the usual way bulk work gets slow) would show here as 10,000+.
    assert len(queries) < 150, len(queries)

    assert response.status_code == 200
    body = response.json()
    assert len(body["created"]) == 10_000 and body["failed"] == []
    assert (
        ReactivationRequest.objects.filter(creator=plan.creator, status="pending").count() == 10_000
    )
    assert SubscriptionEvent.objects.filter(type="reactivation.requested").count() == 10_000
    assert len(published) == 10_000
    assert len(mailoutbox) == 10_000
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        f"bulk{i}@example.com" for i in range(10_000)
    )
    tokens = {LINK.search(m.body).group(1) for m in mailoutbox}  # type: ignore[union-attr]
    assert len(tokens) == 10_000
    assert ReactivationRequest.objects.filter(token_hash__isnull=True).count() == 0
    assert ReactivationRequest.objects.filter(emailed_at__isnull=True).count() == 0
    pt = next(m for m in mailoutbox if m.to[0] == "bulk0@example.com")
    assert "Reativ" in pt.subject
    batch = ReactivationBatch.objects.get(creator=plan.creator)
    progress = selectors.batch_progress(batch=batch)
    assert (
        progress.total,
        progress.created,
        progress.refused,
        progress.emailed,
        progress.left,
    ) == (
        10_000,
        10_000,
        0,
        10_000,
        0,
    )
    assert progress.status == "done"


def test_bulk_supersedes_pending_requests_in_one_go(mailoutbox, django_capture_on_commit_callbacks):
    plan = PlanFactory()
    subs = [cancelled_subscription(plan.creator) for _ in range(3)]
    ids = [str(s.uuid) for s in subs]
    first = services.reactivation_requests_create_bulk(
        creator=plan.creator, subscription_ids=ids, mode="reactivate", actor=TEST_ACTOR
    )
    second = services.reactivation_requests_create_bulk(
        creator=plan.creator,
        subscription_ids=[*ids, ids[0]],
        mode="reactivate_and_charge",
        actor=TEST_ACTOR,
    )
    assert len(second.created) == 3
    assert {r.status for r in ReactivationRequest.objects.filter(batch=first.batch)} == {
        "superseded"
    }
    assert ReactivationRequest.objects.filter(status="pending").count() == 3


def test_select_all_matching_a_filter(mailoutbox, django_capture_on_commit_callbacks):
    plan = PlanFactory()
    customer = [cancelled_subscription(plan.creator) for _ in range(2)]
    other_creator_sub = cancelled_subscription()
    queryset = Subscription.objects.filter(status=Status.CANCELLED_BY_CUSTOMER)  # spans creators
    with django_capture_on_commit_callbacks(execute=True):
        result = services.reactivation_requests_create_bulk(
            creator=plan.creator, subscriptions=queryset, mode="reactivate", actor=TEST_ACTOR
        )
    assert sorted(r.subscription_id for r in result.created) == sorted(s.pk for s in customer)
    assert not ReactivationRequest.objects.filter(subscription=other_creator_sub).exists()
    assert len(mailoutbox) == 2
    assert result.batch.status == "sending"
    result.batch.refresh_from_db()
    assert result.batch.status == "done" and result.batch.finished_at is not None
