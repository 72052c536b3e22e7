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
                "confirmed": "1",
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
            "confirmed": "1",
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


def bulk_post(client, **extra):
    return client.post(
        reverse("dashboard:subscriptions_bulk"),
        {"action": "reactivation_request", "mode": "reactivate", **extra},
    )


def test_bulk_send_asks_first_and_says_what_will_happen(creator, owner, login):
    plan = PlanFactory(product__creator=creator, creator=creator)
    subscriptions = cancelled(creator, 4, plan)
    SubscriptionFactory(creator=creator, plan=plan, status=Status.ACTIVE)
    SubscriptionFactory(creator=creator, plan=plan, status=Status.OVERDUE)
    reactivation_request_create(
        subscription=subscriptions[0], mode="reactivate_and_charge", actor=TEST_ACTOR
    )
    reactivation_request_create(
        subscription=subscriptions[1], mode="reactivate_and_charge", actor=TEST_ACTOR
    )
    reactivation_request_create(subscription=subscriptions[2], mode="reactivate", actor=TEST_ACTOR)
    client = login(owner)
    filters = {"all_matching": "1", "plan": str(plan.uuid)}
    response = bulk_post(client, **filters)
    assert response.status_code == 200
    html = response.content.decode()
    # Nothing is sent yet.
    assert not BulkJob.objects.exists()
    assert ReactivationRequest.objects.filter(status="pending").count() == 3
    assert 'data-count="selected">6<' in html
    assert 'data-count="emails"><strong>4<' in html
    assert 'data-count="refused">2<' in html
    assert "Send 4 emails" in html
    assert "nothing is charged" in html and "works for 3 days" in html
    assert (
        "2 subscribers already have a pending “Reactivate and charge” request: it will be "
        "replaced by this “Reactivate” request" in html
    )
    assert "1 subscriber already has a pending request of this mode" in html
    assert "Not cancelled: there is nothing to reactivate." in html
    assert "Ended normally after its last cycle." in html
    # The confirmation carries the selection and the filters back.
    assert f'name="plan" value="{plan.uuid}"' in html
    assert 'name="all_matching" value="1"' in html
    assert 'name="confirmed" value="1"' in html
    confirmed = bulk_post(client, **filters, confirmed="1")
    assert confirmed.status_code == 302
    assert BulkJob.objects.filter(creator=creator).count() == 1


def test_bulk_confirm_in_portuguese(creator, owner, login):
    subscriptions = cancelled(creator, 2)
    reactivation_request_create(subscription=subscriptions[0], mode="reactivate", actor=TEST_ACTOR)
    client = login(owner)
    client.cookies["django_language"] = "pt-br"
    html = bulk_post(
        client, mode="reactivate_and_charge", subscription=[str(s.uuid) for s in subscriptions]
    ).content.decode()
    assert "Enviar 2 e-mails" in html
    assert "Reativar e cobrar" in html
    assert "será substituído" in html


def test_bulk_confirm_with_nothing_eligible_offers_no_send(creator, owner, login):
    active = SubscriptionFactory(plan__product__creator=creator, status=Status.ACTIVE)
    html = bulk_post(login(owner), subscription=[str(active.uuid)]).content.decode()
    assert 'id="bulk-nothing-to-send"' in html
    assert 'id="bulk-confirm-submit"' not in html


def test_bulk_confirm_query_count_does_not_grow_with_the_selection(creator, owner, login):
    plan = PlanFactory(product__creator=creator, creator=creator)
    client = login(owner)
    cancelled(creator, 1, plan)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert bulk_post(client, all_matching="1").status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for subscription in cancelled(creator, 49, plan):
        reactivation_request_create(
            subscription=subscription, mode="reactivate_and_charge", actor=TEST_ACTOR
        )
    assert count() == one


def test_not_sent_lists_which_subscriptions_with_a_csv(
    creator, owner, login, eager_celery, django_capture_on_commit_callbacks
):
    (one,) = cancelled(creator, 1)
    active = SubscriptionFactory(
        creator=creator, plan=one.plan, status=Status.ACTIVE, subscriber__email="still@example.com"
    )
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = bulk_post(client, subscription=[str(one.uuid), str(active.uuid)], confirmed="1")
    page = client.get(response["Location"]).content.decode()
    assert 'id="bulk-refused-rows"' in page
    assert "still@example.com" in page
    assert reverse("dashboard:subscription_detail", args=[active.uuid]) in page
    job = BulkJob.objects.get(creator=creator)
    export = client.get(reverse("dashboard:reactivation_bulk_refused_export", args=[job.uuid]))
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines == [
        "id,email,reason_code,reason",
        f"{active.uuid},still@example.com,active,Not cancelled: there is nothing to reactivate.",
    ]
