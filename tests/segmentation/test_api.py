"""The segmentation rows of SPEC §10."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from segmentation.models import SegmentationDelivery
from segmentation.services import rule_create
from subscriptions.models import SubscriptionEvent
from tests.api_helpers import api_client
from tests.factories import CreatorFactory, SubscriptionFactory
from tests.segmentation.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def body(integration: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "name": "Win back",
        "product": None,
        "triggers": ["CANCELLED_BY_CUSTOMER", "charge.refunded"],
        "match": "any",
        "conditions": [{"field": "recurrence", "op": "gte", "value": 2}],
        "actions": [{"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}],
        "is_active": True,
    }
    data.update(changes)
    return data


@pytest.fixture
def integration(creator):  # type: ignore[no-untyped-def]
    return IntegrationFactory(creator=creator)


def test_create_read_update_delete(creator, integration):
    client = api_client(creator)
    created = client.post("/api/v1/segmentations", body(integration), format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["status"] == "ok" and rule["last_error"] == ""
    assert rule["triggers"] == ["CANCELLED_BY_CUSTOMER", "charge.refunded"]
    assert rule["conditions"] == [{"field": "recurrence", "op": "gte", "value": 2}]
    assert rule["actions"] == [
        {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}
    ]
    assert rule["deliveries_last_7_days"]["succeeded"] == 0
    assert rule["last_delivery_at"] is None

    url = f"/api/v1/segmentations/{rule['id']}"
    assert client.get(url).json() == rule
    patched = client.patch(url, {"is_active": False}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["is_active"] is False
    assert patched.json()["name"] == "Win back"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_other_tenants_rule_is_404_and_viewers_cannot_write(creator, integration):
    rule = rule_create(creator=creator, data=body(integration))
    outsider = api_client(CreatorFactory())
    for response in (
        outsider.get(f"/api/v1/segmentations/{rule.uuid}"),
        outsider.patch(f"/api/v1/segmentations/{rule.uuid}", {"name": "x"}, format="json"),
        outsider.post(
            f"/api/v1/segmentations/{rule.uuid}/test", {"email": "a@b.co"}, format="json"
        ),
        outsider.get(f"/api/v1/segmentations/{rule.uuid}/deliveries"),
    ):
        assert response.status_code == 404
    viewer = api_client(creator, Role.VIEWER)
    assert viewer.get(f"/api/v1/segmentations/{rule.uuid}").status_code == 200
    assert viewer.delete(f"/api/v1/segmentations/{rule.uuid}").status_code == 403


def _rules_with_deliveries(creator: Any, integration: Any, n: int) -> None:
    subscription = SubscriptionFactory(plan__product__creator=creator)
    event = SubscriptionEvent.objects.create(
        creator=creator,
        subscription=subscription,
        type="charge.refunded",
        occurred_at=timezone.now(),
    )
    for _ in range(n):
        rule = rule_create(creator=creator, data=body(integration))
        for status in ("succeeded", "failed", "retrying"):
            SegmentationDelivery.objects.create(
                creator=creator,
                rule=rule,
                event=event if status == "succeeded" else None,
                action_index=0,
                action_type="add_tag",
                contact_email="a@example.com",
                status=status,
            )


@pytest.mark.parametrize("n", [1, 50])
def test_rule_list_query_count_is_pinned(creator, integration, n):
    _rules_with_deliveries(creator, integration, n)
    client = api_client(creator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/segmentations")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == n
    assert results[0]["deliveries_last_7_days"] == {
        "pending": 0,
        "sending": 0,
        "succeeded": 1,
        "failed": 1,
        "retrying": 1,
        "gave_up": 0,
    }
    assert results[0]["last_delivery_at"] is not None
    # api key lookup + last-used update + the rules with their figures
    assert len(queries) == 3, [q["sql"] for q in queries]


@pytest.mark.parametrize("n", [1, 50])
def test_delivery_log_is_paginated_with_pinned_queries(creator, integration, n):
    rule = rule_create(creator=creator, data=body(integration))
    subscription = SubscriptionFactory(plan__product__creator=creator)
    for i in range(n):
        event = SubscriptionEvent.objects.create(
            creator=creator,
            subscription=subscription,
            type="charge.refunded",
            occurred_at=timezone.now(),
        )
        SegmentationDelivery.objects.create(
            creator=creator,
            rule=rule,
            event=event,
            action_index=0,
            action_type="add_tag",
            contact_email=f"c{i}@example.com",
            status="succeeded",
            provider_status=200,
        )
    client = api_client(creator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/segmentations/{rule.uuid}/deliveries?page_size=50")
    assert response.status_code == 200
    page = response.json()
    assert len(page["results"]) == n
    row = page["results"][0]
    assert set(row) == {
        "id",
        "event",
        "action_index",
        "action",
        "contact",
        "status",
        "attempts",
        "next_attempt_at",
        "provider_status",
        "error",
        "is_test",
        "created_at",
        "finished_at",
    }
    assert row["contact"] == f"c{n - 1}@example.com"  # newest first
    # api key lookup + last-used update + the rule + the page
    assert len(queries) == 4, [q["sql"] for q in queries]


def test_send_test_reports_each_action_and_defaults_to_the_members_email(
    creator, owner, integration, fake_provider
):
    broken = IntegrationFactory(creator=creator)
    rule = rule_create(
        creator=creator,
        data=body(
            integration,
            actions=[
                {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"},
                {"type": "add_to_list", "integration": str(broken.uuid), "list": "gone"},
            ],
        ),
    )
    # One call per action (nothing is upserted first): the tag works, the list is gone.
    fake_provider.script = [(200, {}), (404, {})]
    client = APIClient()
    client.force_login(owner)
    response = client.post(f"/api/v1/segmentations/{rule.uuid}/test", {}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["type"], r["outcome"], r["provider_status"]) for r in results] == [
        ("add_tag", "ok", None),
        ("add_to_list", "error", 404),
    ]
    assert results[1]["error"].startswith("Test mail answered 404")
    assert fake_provider.calls_to("PUT") == []
    assert [c.path for c in fake_provider.calls] == [
        f"/contacts/{owner.email}/tags",
        "/lists/gone/members",
    ]
    logged = SegmentationDelivery.objects.filter(rule=rule, is_test=True).order_by("action_index")
    assert [(d.status, d.contact_email) for d in logged] == [
        ("succeeded", owner.email),
        ("failed", owner.email),
    ]
    rule.refresh_from_db()
    assert rule.status == "ok"  # a rejected test contact does not flag the rule


def test_send_test_with_an_api_key_needs_an_email(creator, integration, fake_provider):
    rule = rule_create(creator=creator, data=body(integration))
    client = api_client(creator)
    missing = client.post(f"/api/v1/segmentations/{rule.uuid}/test", {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == (
        "email: API key callers must pass the test contact's email."
    )
    ok = client.post(
        f"/api/v1/segmentations/{rule.uuid}/test", {"email": "t@example.com"}, format="json"
    )
    assert ok.json()["results"][0]["outcome"] == "ok"
    assert fake_provider.calls_to("POST")[0].path == "/contacts/t@example.com/tags"


def test_preview_counts_current_subscriptions_and_recent_events(creator, integration):
    for recurrence, status in (
        (1, "CANCELLED_BY_CUSTOMER"),
        (3, "CANCELLED_BY_CUSTOMER"),
        (3, "ACTIVE"),
    ):
        subscription = SubscriptionFactory(
            plan__product__creator=creator, recurrence=recurrence, status=status
        )
        SubscriptionEvent.objects.create(
            creator=creator,
            subscription=subscription,
            type="subscription.status_changed",
            data={"from": "ACTIVE", "to": status},
            occurred_at=timezone.now() - timedelta(days=2),
        )
        SubscriptionEvent.objects.create(
            creator=creator,
            subscription=subscription,
            type="charge.refunded",
            occurred_at=timezone.now() - timedelta(days=40),
        )
    data = body(integration, match="all")
    del data["actions"]
    response = api_client(creator).post("/api/v1/segmentations/preview", data, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"matching_subscriptions": 1, "events_last_30_days": 1}
    bad = api_client(creator).post(
        "/api/v1/segmentations/preview",
        {**data, "conditions": [{"field": "period", "op": "gt", "value": "monthly"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("conditions[0]: operator 'gt'")
