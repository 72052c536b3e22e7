"""Reactivation rows of the REST API (SPEC §10)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from reactivation.models import ReactivationRequest
from subscriptions.models import Status, Subscription
from tests.api_helpers import api_client
from tests.factories import TEST_ACTOR, CreatorFactory, SubscriptionFactory
from tests.reactivation.factories import cancelled_subscription

pytestmark = pytest.mark.django_db


def _url(subscription_id: object) -> str:
    return f"/api/v1/subscriptions/{subscription_id}/reactivation-requests"


def test_create_answers_201_with_the_request(
    creator, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = cancelled_subscription(creator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(creator).post(
            _url(subscription.uuid), {"mode": "reactivate"}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "subscription", "mode", "status", "created_at", "expires_at"}
    assert body["status"] == "pending"
    request = ReactivationRequest.objects.get(uuid=body["id"])
    assert (request.expires_at - request.created_at).total_seconds() == 72 * 3600
    assert request.requested_by_label.startswith("API key sk_live_")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [subscription.subscriber.email]
    assert subscription.events.filter(type="reactivation.requested").count() == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Status.ACTIVE, "active"),
        (Status.DELAYED, "active"),
        (Status.STARTED, "active"),
        (Status.OVERDUE, "ended"),
        (Status.INACTIVE, "inactive"),
        (Status.CANCELLED_BY_ADMIN, "admin_cancelled"),
    ],
)
def test_refusals_are_409_with_the_reason_code(creator, status, code):
    subscription = SubscriptionFactory(plan__product__creator=creator, status=status)
    response = api_client(creator).post(
        _url(subscription.uuid), {"mode": "reactivate"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == code
    assert not ReactivationRequest.objects.exists()


def test_inactive_plan_is_refused(creator):
    subscription = cancelled_subscription(creator)
    subscription.plan.is_active = False
    subscription.plan.save()
    response = api_client(creator).post(
        _url(subscription.uuid), {"mode": "reactivate"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "plan_inactive"


@pytest.mark.parametrize(
    "subscription_id", ["other-tenant", "00000000-0000-4000-8000-000000000000", "not-a-uuid"]
)
def test_unknown_or_other_tenants_subscription_is_404(creator, subscription_id):
    if subscription_id == "other-tenant":
        subscription_id = str(cancelled_subscription(CreatorFactory()).uuid)
    response = api_client(creator).post(
        _url(subscription_id), {"mode": "reactivate"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_invalid_mode_is_400_and_viewer_is_403(creator):
    subscription = cancelled_subscription(creator)
    bad = api_client(creator).post(_url(subscription.uuid), {"mode": "charge"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    viewer = api_client(creator, Role.VIEWER).post(
        _url(subscription.uuid), {"mode": "reactivate"}, format="json"
    )
    assert viewer.status_code == 403


def test_bulk_lists_created_and_failed_with_reasons(
    creator, mailoutbox, django_capture_on_commit_callbacks
):
    ok = [cancelled_subscription(creator) for _ in range(3)]
    active = SubscriptionFactory(plan__product__creator=creator)
    foreign = cancelled_subscription(CreatorFactory())
    missing = uuid.uuid4()
    ids = [str(s.uuid) for s in ok] + [str(active.uuid), str(foreign.uuid), str(missing), "garbage"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(creator).post(
            "/api/v1/reactivation-requests/bulk",
            {"subscriptions": ids, "mode": "reactivate"},
            format="json",
        )
    assert response.status_code == 200
    body = response.json()
    assert [r["subscription"] for r in body["created"]] == [str(s.uuid) for s in ok]
    assert all(r["status"] == "pending" for r in body["created"])
    failed = {f["subscription"]: f["code"] for f in body["failed"]}
    assert failed == {
        str(active.uuid): "active",
        str(foreign.uuid): "not_found",
        str(missing): "not_found",
        "garbage": "not_found",
    }
    assert all(f["message"] for f in body["failed"])
    assert len(mailoutbox) == 3


def test_bulk_over_the_cap_is_400(creator):
    ids = [str(uuid.uuid4()) for _ in range(10_001)]
    response = api_client(creator).post(
        "/api/v1/reactivation-requests/bulk",
        {"subscriptions": ids, "mode": "reactivate"},
        format="json",
    )
    assert response.status_code == 400
    assert "10000" in response.json()["error"]["message"]


def test_bulk_needs_a_list_and_a_mode(creator):
    client = api_client(creator)
    assert (
        client.post(
            "/api/v1/reactivation-requests/bulk", {"mode": "reactivate"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/reactivation-requests/bulk",
            {"subscriptions": "abc", "mode": "reactivate"},
            format="json",
        ).status_code
        == 400
    )


def _make_requests(creator, n):  # type: ignore[no-untyped-def]
    from reactivation.services import reactivation_requests_create_bulk

    subs = [cancelled_subscription(creator) for _ in range(n)]
    return reactivation_requests_create_bulk(
        creator=creator,
        subscription_ids=[str(s.uuid) for s in subs],
        mode="reactivate",
        actor=TEST_ACTOR,
    )


@pytest.mark.parametrize("rows", [1, 50])
def test_list_query_count_is_pinned(creator, rows):
    _make_requests(creator, rows)
    _make_requests(CreatorFactory(), 2)  # another tenant's never show
    client = api_client(creator)
    client.get("/api/v1/reactivation-requests")  # warm caches (throttle, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/reactivation-requests")
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows
    # the API key (with its creator) and the page
    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_list_filters_by_status_and_validates_it(creator):
    result = _make_requests(creator, 2)
    ReactivationRequest.objects.filter(pk=result.created[0].pk).update(status="rejected")
    client = api_client(creator)
    body = client.get("/api/v1/reactivation-requests?status=rejected").json()
    assert [r["id"] for r in body["results"]] == [str(result.created[0].uuid)]
    assert body["next"] is None and body["previous"] is None
    assert client.get("/api/v1/reactivation-requests?status=nope").status_code == 400


def test_retrieve_is_tenant_scoped(creator):
    mine = _make_requests(creator, 1).created[0]
    theirs = _make_requests(CreatorFactory(), 1).created[0]
    client = api_client(creator)
    assert client.get(f"/api/v1/reactivation-requests/{mine.uuid}").json()["id"] == str(mine.uuid)
    assert client.get(f"/api/v1/reactivation-requests/{theirs.uuid}").status_code == 404
    assert client.get("/api/v1/reactivation-requests/nope").status_code == 404


def test_subscription_count_unchanged_by_requests(creator):
    _make_requests(creator, 2)
    assert (
        Subscription.objects.filter(creator=creator, status=Status.CANCELLED_BY_CUSTOMER).count()
        == 2
    )
