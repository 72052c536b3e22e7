"""CSV exports of the subscriptions table (with its filters) and of a rule's deliveries."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard import exports
from segmentation.models import SegmentationDelivery, SegmentationRule
from subscriptions.models import Status
from subscriptions.services import subscription_cancel
from tests.factories import PlanFactory, SubscriberFactory, SubscriptionFactory, actor_for

pytestmark = pytest.mark.django_db


def download(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_export_follows_the_tables_filters(creator, owner, login):
    plan = PlanFactory(product__creator=creator, name="Mensal")
    kept = SubscriptionFactory(
        plan=plan,
        subscriber=SubscriberFactory(creator=creator, email="ana@example.com", name="Ana Lima"),
    )
    kept = subscription_cancel(subscription=kept, actor=actor_for("customer"), reason="caro")
    SubscriptionFactory(plan=plan, subscriber__email="bruno@example.com")  # active
    SubscriptionFactory(plan__product__creator=creator, subscriber__email="anabel@example.com")
    rows = download(
        login(owner),
        reverse("dashboard:subscriptions_export"),
        {"status": "CANCELLED_BY_CUSTOMER", "email": "ana"},
    )
    assert [r["email"] for r in rows] == ["ana@example.com"]
    row = rows[0]
    assert row["id"] == str(kept.uuid)
    assert row["name"] == "Ana Lima"
    assert row["plan"] == "Mensal"
    assert row["price"] == "49.90"
    assert row["currency"] == "BRL"
    assert row["status"] == Status.CANCELLED_BY_CUSTOMER
    assert row["cancellation_source"] == "customer"
    assert row["cancellation_reason"] == "caro"
    assert row["paid_through"] == kept.paid_through.isoformat()
    assert row["next_charge_date"] == ""
    assert list(row) == exports.SUBSCRIPTION_COLUMNS


def test_export_without_filters_has_every_row_of_the_creator_only(creator, owner, login):
    SubscriptionFactory.create_batch(3, plan__product__creator=creator)
    SubscriptionFactory(subscriber__email="someone-else@example.com")  # another creator
    rows = download(login(owner), reverse("dashboard:subscriptions_export"))
    assert len(rows) == 3
    assert "someone-else@example.com" not in {r["email"] for r in rows}


def test_a_cell_that_looks_like_a_formula_is_quoted(creator, owner, login):
    SubscriptionFactory(
        plan__product__creator=creator,
        subscriber=SubscriberFactory(creator=creator, name='=HYPERLINK("http://evil")'),
    )
    rows = download(login(owner), reverse("dashboard:subscriptions_export"))
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil")'


def test_bad_filter_values_are_ignored_not_a_500(creator, owner, login):
    SubscriptionFactory(plan__product__creator=creator)
    rows = download(
        login(owner),
        reverse("dashboard:subscriptions_export"),
        {"status": "NOPE", "product": "not-a-uuid", "sort": "x"},
    )
    # The form leaves out what it cannot read, exactly as the table does: no filter left.
    assert len(rows) == 1


def export_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        b"".join(response.streaming_content)
    return len(ctx.captured_queries)


def test_export_query_count_is_the_same_for_1_and_50_rows(creator, owner, login, monkeypatch):
    client = login(owner)
    url = reverse("dashboard:subscriptions_export")
    plan = PlanFactory(product__creator=creator)
    SubscriptionFactory(plan=plan)
    one = export_queries(client, url)
    SubscriptionFactory.create_batch(49, plan=plan)
    assert export_queries(client, url) == one
    # Big tenants: one more query per chunk of rows, never one per row.
    monkeypatch.setattr(exports, "EXPORT_CHUNK", 20)
    assert export_queries(client, url) <= one + 3


def test_deliveries_export(creator, owner, login):
    subscription = SubscriptionFactory(plan__product__creator=creator)
    rule = SegmentationRule.objects.create(
        creator=creator, name="Churned", triggers=["CANCELLED_BY_CUSTOMER"], actions=[]
    )
    event = subscription_cancel(
        subscription=subscription, actor=actor_for("customer")
    ).events.latest("occurred_at")
    for status in (SegmentationDelivery.Status.SUCCEEDED, SegmentationDelivery.Status.FAILED):
        SegmentationDelivery.objects.create(
            creator=creator,
            rule=rule,
            event=event if status == "succeeded" else None,
            action_index=0,
            action_type="add_tag",
            action={"type": "add_tag", "tag": "churned"},
            contact_email=subscription.subscriber.email,
            status=status,
            provider_status=422 if status == "failed" else 200,
            error="List not found" if status == "failed" else "",
        )
    client = login(owner)
    rows = download(client, reverse("dashboard:segmentation_deliveries_export", args=[rule.uuid]))
    assert [r["status"] for r in rows] == ["failed", "succeeded"]
    assert rows[0]["error"] == "List not found"
    assert rows[0]["provider_status"] == "422"
    assert rows[0]["contact_email"] == subscription.subscriber.email
    assert list(rows[0]) == exports.DELIVERY_COLUMNS
    page = client.get(reverse("dashboard:segmentation_deliveries", args=[rule.uuid]))
    assert reverse("dashboard:segmentation_deliveries_export", args=[rule.uuid]) in (
        page.content.decode()
    )
