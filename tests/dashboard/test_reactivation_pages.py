from __future__ import annotations

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.models import BulkJob
from reactivation.models import ReactivationRequest
from reactivation.services import reactivation_request_create
from subscriptions.models import Status
from tests.factories import TEST_ACTOR, PlanFactory, SubscriptionFactory
from tests.reactivation.factories import cancelled_subscription


def cancelled(creator, n, plan=None):
    plan = plan or PlanFactory(product__creator=creator, creator=creator)
    return [cancelled_subscription(creator, plan=plan) for _ in range(n)]


def test_select_all_matching_runs_in_the_background(
    creator, owner, login, eager_celery, django_capture_on_commit_callbacks
):
    subscriptions = cancelled(creator, 3)
    SubscriptionFactory(creator=creator, plan=subscriptions[0].plan, status=Status.ACTIVE)
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("dashboard:subscriptions_bulk"),
            {
                "action": "reactivation_request",
                "mode": "reactivate",
                "all_matching": "1",
                "status": ["CANCELLED_BY_CUSTOMER"],
            },
        )
    assert response.status_code == 302
    job = BulkJob.objects.get(creator=creator)
    assert response["Location"] == reverse("dashboard:reactivation_bulk", args=[job.uuid])
    assert job.status == BulkJob.Status.DONE  # the task ran (eagerly here)
    assert ReactivationRequest.objects.filter(creator=creator).count() == 3
    assert len(mail.outbox) == 3
    page = client.get(response["Location"]).content.decode()
    assert 'data-count="done">3<' in page and 'data-count="left">0<' in page
    assert 'id="bulk-summary"' in page and 'data-finished="true"' in page


def test_progress_polls_until_done_and_lists_refusals(creator, owner, login):
    (one,) = cancelled(creator, 1)
    active = SubscriptionFactory(creator=creator, plan=one.plan, status=Status.ACTIVE)
    client = login(owner)
    client.post(
        reverse("dashboard:subscriptions_bulk"),
        {
            "action": "reactivation_request",
            "mode": "reactivate",
            "subscription": [str(one.uuid), str(active.uuid)],
        },
    )
    job = BulkJob.objects.get(creator=creator)
    queued = client.get(
        reverse("dashboard:reactivation_bulk", args=[job.uuid]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="every 1s"' in queued and "Preparing" in queued
    from dashboard.bulk_jobs import bulk_job_run_now

    bulk_job_run_now(job_id=job.pk)
    sending = client.get(
        reverse("dashboard:reactivation_bulk", args=[job.uuid]), HTTP_HX_REQUEST="true"
    ).content.decode()
    # The emails go out after commit; until then the page keeps polling.
    assert 'data-count="refused">1<' in sending
    assert "Not cancelled" in sending or 'hx-trigger="every 1s"' in sending


def test_bulk_without_a_mode_is_refused(creator, owner, login):
    (one,) = cancelled(creator, 1)
    response = login(owner).post(
        reverse("dashboard:subscriptions_bulk"),
        {"action": "reactivation_request", "mode": "bogus", "subscription": [str(one.uuid)]},
        follow=True,
    )
    assert "Choose how to reactivate" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_request_resend_and_revoke_on_the_detail_page(creator, owner, login):
    (subscription,) = cancelled(creator, 1)
    client = login(owner)
    url = reverse("dashboard:subscription_detail", args=[subscription.uuid])
    assert 'id="reactivation-form"' in client.get(url).content.decode()
    client.post(
        reverse("dashboard:reactivation_request", args=[subscription.uuid]),
        {"mode": "reactivate_and_charge"},
    )
    first = ReactivationRequest.objects.get(subscription=subscription)
    html = client.get(url).content.decode()
    assert 'id="pending-request"' in html and 'id="reactivation-resend"' in html
    # The link's expiry names its zone; a time ending in "a.m." never meets a second period.
    assert f"({creator.time_zone})." in html
    assert "m.." not in html
    client.post(reverse("dashboard:reactivation_resend", args=[first.uuid]))
    first.refresh_from_db()
    assert first.status == ReactivationRequest.Status.SUPERSEDED
    second = ReactivationRequest.objects.get(subscription=subscription, status="pending")
    client.post(reverse("dashboard:reactivation_revoke", args=[second.uuid]))
    second.refresh_from_db()
    assert second.status == ReactivationRequest.Status.SUPERSEDED


def test_refusal_is_explained(creator, owner, login):
    active = SubscriptionFactory(plan__product__creator=creator, status=Status.ACTIVE)
    response = login(owner).post(
        reverse("dashboard:reactivation_request", args=[active.uuid]),
        {"mode": "reactivate"},
        follow=True,
    )
    assert "Not cancelled: there is nothing to reactivate." in response.content.decode()


def test_reactivation_roles(creator, viewer, outsider, login):
    (subscription,) = cancelled(creator, 1)
    request = reactivation_request_create(
        subscription=subscription, mode="reactivate", actor=TEST_ACTOR
    )
    html = (
        login(viewer)
        .get(reverse("dashboard:subscription_detail", args=[subscription.uuid]))
        .content.decode()
    )
    assert 'id="reactivation-form"' not in html and 'id="reactivation-revoke"' not in html
    for name, arg in (
        ("reactivation_request", subscription.uuid),
        ("reactivation_resend", request.uuid),
        ("reactivation_revoke", request.uuid),
    ):
        url = reverse(f"dashboard:{name}", args=[arg])
        assert login(viewer).post(url, {"mode": "reactivate"}).status_code == 403
        assert login(outsider).post(url, {"mode": "reactivate"}).status_code == 404


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_request_list_filters_and_query_count(creator, owner, login):
    plan = PlanFactory(product__creator=creator, creator=creator)
    (first,) = cancelled(creator, 1, plan)
    reactivation_request_create(subscription=first, mode="reactivate", actor=TEST_ACTOR)
    client = login(owner)
    url = reverse("dashboard:reactivation_requests")
    one = queries(client, url)
    for subscription in cancelled(creator, 49, plan):
        reactivation_request_create(subscription=subscription, mode="reactivate", actor=TEST_ACTOR)
    assert queries(client, url) == one
    assert queries(client, url + "?status=pending") == one
    html = client.get(url + "?status=accepted").content.decode()
    assert "No reactivation requests." in html
    overview = client.get(reverse("dashboard:overview")).content.decode()
    assert 'data-funnel="requested">50<' in overview and 'data-funnel="pending">50<' in overview
