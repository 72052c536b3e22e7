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


@pytest.mark.parametrize(
    ("model", "term"),
    [
        ("subscription", "carla.rocha"),
        ("subscription", "CARLA.ROCHA"),
        ("subscription", "Carla Ro"),
        ("subscription", "rocha82@exa"),
        ("charge", "carla.rocha"),
        ("subscriptionevent", "carla.rocha"),
        ("subscriber", "carla.rocha"),
    ],
)
def test_search_finds_part_of_an_email_or_a_name(support, model, term):
    charge = ChargeFactory(
        subscription__subscriber__email="carla.rocha82@example.com",
        subscription__subscriber__name="Carla Rocha",
    )
    subscription = charge.subscription
    subscription_cancel(subscription=subscription, actor=actor_for("seller"), reason="x")
    ChargeFactory(
        subscription__subscriber__email="carlos.rocha@example.com",
        subscription__subscriber__name="Carlos Rocha",
    )
    expected = {
        "subscription": [subscription.pk],
        "charge": [charge.pk],
        "subscriptionevent": list(subscription.events.values_list("pk", flat=True)),
        "subscriber": [subscription.subscriber_id],
    }[model]
    response = support.get(reverse(f"admin:subscriptions_{model}_changelist"), {"q": term})
    assert response.status_code == 200
    assert sorted(o.pk for o in response.context["cl"].result_list) == sorted(expected)


def test_a_term_shorter_than_three_characters_matches_whole_emails_only(support):
    SubscriptionFactory(subscriber__email="ca@example.com")
    url = reverse("admin:subscriptions_subscription_changelist")
    assert list(support.get(url, {"q": "ca"}).context["cl"].result_list) == []
    found = support.get(url, {"q": "CA@example.com"}).context["cl"].result_list
    assert [s.subscriber.email for s in found] == ["ca@example.com"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("column", "index"), [("email", "subscriber_email_trgm"), ("name", "subscriber_name_trgm")]
)
def test_partial_search_is_answered_by_the_trigram_indexes(column, index):
    """The indexes' expressions match what Django writes for `icontains`; with
    sequential scans priced out the planner picks them (on a million rows it does so by
    itself: scripts/measure_admin_search.py)."""
    from subscriptions.admin import subscriber_search_condition
    from subscriptions.models import Subscriber

    query = Subscriber.objects.filter(**{f"{column}__icontains": "carla.rocha"})
    assert str(subscriber_search_condition("carla.rocha")).count("icontains") == 2
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def test_cancel_confirmation_names_subscriber_product_plan_and_creator(support):
    sub = SubscriptionFactory(
        subscriber__email="carla.rocha82@example.com",
        subscriber__name="Carla Rocha",
        plan__name="Monthly",
        plan__product__name="Yoga club",
    )
    sub.creator.name = "Studio Ana"
    sub.creator.save()
    url = reverse("admin:subscriptions_subscription_changelist")
    page = support.post(url, {"action": "cancelled_as_support", "_selected_action": [sub.pk]})
    html = page.content.decode()
    line = (
        "carla.rocha82@example.com (Carla Rocha) · Yoga club — Monthly · "
        f"creator: Studio Ana · Active · {sub.uuid}"
    )
    assert line in html
    assert "(ACTIVE)" not in html
    assert "Cancel as support: 1 selected." in html


def test_refund_confirmation_names_the_charge_and_its_subscription(support):
    charge = ChargeFactory(
        amount="49.90",
        currency="BRL",
        subscription__subscriber__email="carla.rocha82@example.com",
        subscription__plan__product__name="Yoga club",
    )
    url = reverse("admin:subscriptions_charge_changelist")
    html = support.post(url, {"action": "refunded", "_selected_action": [charge.pk]}).content
    text = html.decode()
    label = f"{charge.get_kind_display()} charge of 49.90 BRL, {charge.get_status_display()}"
    assert label in text
    assert "carla.rocha82@example.com" in text and "Yoga club" in text


def test_admin_names_models_in_english_and_portuguese(support):
    html = support.get(reverse("admin:index")).content.decode()
    assert "Webhook deliveries" in html and "Segmentation deliveries" in html
    assert "deliverys" not in html.lower()
    assert "Reactivation batches" in html
    html = support.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    for label in ("Entregas de webhook", "Entregas de segmentação", "Assinaturas", "Cobranças"):
        assert label in html


def test_admin_pages_say_which_time_zone_their_times_are_in(support):
    url = reverse("admin:subscriptions_subscription_changelist")
    SubscriptionFactory()
    assert "Times in UTC" in support.get(url).content.decode()
    assert "Horários em UTC" in support.get(url, HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()


def test_subscription_admin_in_portuguese(support):
    sub = SubscriptionFactory()
    url = reverse("admin:subscriptions_subscription_changelist")
    html = support.get(url, HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    for text in ("Cancelar como suporte", "Suporte do Gerenciador de assinaturas", "pelo menos 3"):
        assert text in html, text
    change = support.get(
        reverse("admin:subscriptions_subscription_change", args=[sub.pk]),
        HTTP_ACCEPT_LANGUAGE="pt-BR",
    ).content.decode()
    for text in ("Data da próxima cobrança", "Criado em", "Cobranças", "Eventos de assinatura"):
        assert text in change, text
