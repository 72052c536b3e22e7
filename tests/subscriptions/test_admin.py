"""Support admin (SPEC §12): pages load, stay at a fixed query count, act through services."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from subscriptions.models import Charge, Status, Subscription, SubscriptionEvent
from subscriptions.services import subscription_cancel
from tests.factories import ChargeFactory, PlanFactory, SubscriptionFactory, UserFactory, actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client):  # type: ignore[no-untyped-def]
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def _changelist_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_subscription_changelist_query_count_is_the_same_for_1_and_50_rows(support):
    url = reverse("admin:subscriptions_subscription_changelist")
    plan = PlanFactory()
    SubscriptionFactory(plan=plan)
    one = _changelist_queries(support, url)
    SubscriptionFactory.create_batch(49, plan=plan)
    fifty = _changelist_queries(support, url)
    # PostgreSQL adds one query: the planner's row estimate that replaces COUNT(*).
    assert one == fifty == (6 if connection.vendor == "postgresql" else 5)


@pytest.mark.parametrize(
    "model", ["subscription", "charge", "subscriptionevent", "subscriber", "product", "plan"]
)
def test_changelist_and_change_pages_load(support, model):
    charge = ChargeFactory()
    subscription_cancel(subscription=charge.subscription, actor=actor_for("customer"), reason="x")
    objects = {
        "subscription": charge.subscription,
        "charge": charge,
        "subscriptionevent": SubscriptionEvent.objects.first(),
        "subscriber": charge.subscription.subscriber,
        "product": charge.subscription.plan.product,
        "plan": charge.subscription.plan,
    }
    changelist = support.get(reverse(f"admin:subscriptions_{model}_changelist"))
    assert changelist.status_code == 200
    change = support.get(reverse(f"admin:subscriptions_{model}_change", args=[objects[model].pk]))
    assert change.status_code == 200


def test_subscription_page_shows_event_history_read_only(support):
    sub = SubscriptionFactory()
    subscription_cancel(subscription=sub, actor=actor_for("seller"), reason="duplicate purchase")
    page = support.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk]))
    html = page.content.decode()
    assert "subscription.status_changed" in html
    assert "duplicate purchase" in html
    assert 'name="events-0-type"' not in html  # shown, not editable


@pytest.mark.parametrize(
    ("term", "expected"),
    [("email", True), ("EMAIL", True), ("uuid", True), ("subscriber_uuid", True), ("nope", False)],
)
def test_search_by_email_and_ids(support, term, expected):
    sub = SubscriptionFactory(subscriber__email="Maria@Example.com")
    SubscriptionFactory()
    q = {
        "email": "maria@example.com",
        "EMAIL": "MARIA@EXAMPLE.COM",
        "uuid": str(sub.uuid),
        "subscriber_uuid": str(sub.subscriber.uuid),
        "nope": "not-an-id",
    }[term]
    response = support.get(reverse("admin:subscriptions_subscription_changelist"), {"q": q})
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows == ([sub] if expected else [])


def test_filters_by_status_source_and_creator(support):
    sub = SubscriptionFactory()
    subscription_cancel(subscription=sub, actor=actor_for("admin"), reason="fraud")
    other = SubscriptionFactory()
    url = reverse("admin:subscriptions_subscription_changelist")
    for params, expected in [
        ({"status__exact": Status.CANCELLED_BY_ADMIN}, [sub.pk]),
        ({"cancellation_source__exact": "admin"}, [sub.pk]),
        ({"creator__id__exact": other.creator_id}, [other.pk]),
    ]:
        response = support.get(url, params)
        assert [s.pk for s in response.context["cl"].result_list] == expected


def test_cancel_as_support_asks_for_a_reason_then_cancels_through_the_service(support):
    sub = SubscriptionFactory()
    url = reverse("admin:subscriptions_subscription_changelist")
    data = {"action": "cancelled_as_support", "_selected_action": [sub.pk]}
    form_page = support.post(url, data)
    assert form_page.status_code == 200
    assert b'name="reason"' in form_page.content
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE

    done = support.post(url, {**data, "apply": "1", "reason": "chargeback risk"}, follow=True)
    assert done.status_code == 200
    sub.refresh_from_db()
    assert sub.status == Status.CANCELLED_BY_ADMIN
    assert sub.cancellation_reason == "chargeback risk"
    event = sub.events.get(type="subscription.status_changed")
    assert event.data["source"] == "admin"
    assert event.data["actor"].startswith("support:")

    again = support.post(url, {**data, "apply": "1", "reason": "again"}, follow=True)
    assert "already cancelled" in again.content.decode()


def test_refund_and_chargeback_actions(support):
    charge = ChargeFactory(gateway_reference="sbx_1")
    url = reverse("admin:subscriptions_charge_changelist")
    support.post(
        url,
        {"action": "refunded", "_selected_action": [charge.pk], "apply": "1", "reason": "asked"},
    )
    charge.refresh_from_db()
    assert charge.status == Charge.Status.REFUNDED
    support.post(
        url,
        {
            "action": "chargeback_recorded",
            "_selected_action": [charge.pk],
            "apply": "1",
            "reason": "dispute",
        },
    )
    charge.refresh_from_db()
    assert charge.status == Charge.Status.CHARGEBACK
    assert list(charge.subscription.events.values_list("type", flat=True)) == [
        "charge.refunded",
        "charge.chargeback",
    ]


def test_support_cannot_edit_or_add_subscriptions_or_events(support):
    sub = SubscriptionFactory()
    assert support.get(reverse("admin:subscriptions_subscription_add")).status_code == 403
    assert support.get(reverse("admin:subscriptions_subscriptionevent_add")).status_code == 403
    support.post(
        reverse("admin:subscriptions_subscription_change", args=[sub.pk]),
        {"status": Status.CANCELLED_BY_ADMIN},
    )
    assert Subscription.objects.get(pk=sub.pk).status == Status.ACTIVE
