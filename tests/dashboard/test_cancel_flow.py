"""The cancel flow of the manage page (subscriptions/retention.py): the product's reasons,
one offer before cancelling, taking it or declining it, the save rate in the overview,
and the product's settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from core.actors import Actor
from core.errors import Conflict
from subscriptions.models import RecoveryPolicy, Status, SubscriptionEvent
from subscriptions.retention import subscription_retain
from tests.api_helpers import api_client
from tests.dashboard.test_subscriber_restart import manage_html, signed_in
from tests.factories import PlanFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

DUE = date(2026, 5, 10)
Offer = RecoveryPolicy.RetentionOffer


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


@pytest.fixture
def active(creator):  # type: ignore[no-untyped-def]
    return SubscriptionFactory(
        creator=creator,
        plan__product__creator=creator,
        plan__price=Decimal("50.00"),
        plan__period="monthly",
        billing_anchor=date(2026, 1, 10),
        next_charge_date=DUE,
        paid_through=DUE,
    )


def _policy(subscription, **fields):  # type: ignore[no-untyped-def]
    return RecoveryPolicy.objects.create(
        creator=subscription.creator, product=subscription.plan.product, **fields
    )


def _lite(subscription):  # type: ignore[no-untyped-def]
    return PlanFactory(
        product=subscription.plan.product,
        name="Lite",
        price=Decimal("30.00"),
        currency=subscription.plan.currency,
        period="monthly",
    )


def _cancel(client, subscription, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("subscriber:cancel", args=[subscription.creator.slug, subscription.uuid]),
        {"reason": "r1", "details": "money is tight", **extra},
    )


def test_the_products_reasons_replace_the_standard_list(active):
    _policy(active, cancel_reasons="Too expensive for me\n\nMoving to another course\n")
    client = signed_in(active)
    page = manage_html(client, active)
    assert "Too expensive for me" in page and "Moving to another course" in page
    assert "The content is not what I expected" not in page
    answer = _cancel(client, active)
    assert answer.status_code == 302
    active.refresh_from_db()
    assert active.status == Status.CANCELLED_BY_CUSTOMER
    assert active.cancellation_reason == "Too expensive for me: money is tight"


def test_a_downgrade_offer_taken_keeps_the_subscriber_on_the_cheaper_plan(active):
    lite = _lite(active)
    _policy(
        active,
        cancel_reasons="Too expensive",
        retention_offer=Offer.DOWNGRADE,
        retention_plan=lite,
    )
    client = signed_in(active)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        offer = _cancel(client, active)
        assert offer.status_code == 200
        page = offer.content.decode()
        assert 'id="retention-offer"' in page
        assert "Stay on Lite for" in page and "from May 10, 2026" in page
        taken = client.post(
            reverse("subscriber:retain", args=[active.creator.slug, active.uuid]),
            {"offer": "downgrade", "reason": "r1", "details": ""},
            follow=True,
        ).content.decode()
    assert "You are staying with us, thank you. From May 10, 2026 your plan is Lite" in taken
    active.refresh_from_db()
    assert (active.status, active.scheduled_plan) == (Status.ACTIVE, lite)
    event = SubscriptionEvent.objects.get(subscription=active, type="subscription.retained")
    assert event.data["offer"] == {"kind": "downgrade", "plan": str(lite.uuid), "price": "30.00"}
    assert event.data["reason"] == "Too expensive"
    # The API's history shows it like any event.
    history = api_client(active.creator).get(f"/api/v1/subscriptions/{active.uuid}/events")
    assert "subscription.retained" in [e["type"] for e in history.json()["results"]]
    # Never offered twice: the next cancellation goes straight through.
    active.scheduled_plan = None
    active.save(update_fields=["scheduled_plan"])
    assert _cancel(client, active).status_code == 302
    active.refresh_from_db()
    assert active.status == Status.CANCELLED_BY_CUSTOMER


def test_a_pause_offer_declined_cancels_and_is_counted(active, owner, login):
    _policy(active, retention_offer=Offer.PAUSE, retention_pause_periods=2)
    client = signed_in(active)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        page = _cancel(client, active, reason="too_expensive").content.decode()
        assert "pauses from May 10, 2026 for 2 periods" in page
        answer = _cancel(client, active, reason="too_expensive", declined_offer="pause")
    assert answer.status_code == 302
    active.refresh_from_db()
    assert active.status == Status.CANCELLED_BY_CUSTOMER
    cancelled = SubscriptionEvent.objects.get(
        subscription=active, type="subscription.status_changed"
    )
    assert cancelled.data["retention_offer"] == "pause"

    other = SubscriptionFactory(creator=active.creator, plan=active.plan)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        subscription_retain(
            subscription=other,
            actor=Actor.subscriber(other.subscriber),
            kind="pause",
            reason="busy",
        )
    other.refresh_from_db()
    assert (other.status, other.pause_starts_on) == (Status.ACTIVE, other.next_charge_date)

    with time_machine.travel(noon(date(2026, 4, 21)), tick=False):
        overview = login(owner).get(reverse("dashboard:overview")).content.decode()
    assert 'data-offered="pause">2<' in overview
    assert 'data-kept="pause">1<' in overview
    assert 'data-save-rate="pause">50%<' in overview


def test_an_offer_that_no_longer_applies_is_refused(active):
    _policy(active, retention_offer=Offer.PAUSE)
    active.status = Status.DELAYED
    active.save(update_fields=["status"])
    with pytest.raises(Conflict):
        subscription_retain(
            subscription=active, actor=Actor.subscriber(active.subscriber), kind="pause", reason=""
        )
    client = signed_in(active)
    wrong = client.post(
        reverse("subscriber:retain", args=[active.creator.slug, active.uuid]),
        {"offer": "pause", "reason": "too_expensive"},
        follow=True,
    ).content.decode()
    assert "This offer is no longer available." in wrong
    # A late subscription is not offered anything: it cancels at once.
    assert _cancel(client, active, reason="too_expensive").status_code == 302


def test_a_dearer_or_foreign_plan_is_never_offered(active):
    dearer = PlanFactory(
        product=active.plan.product, price=Decimal("90.00"), currency=active.plan.currency
    )
    _policy(active, retention_offer=Offer.DOWNGRADE, retention_plan=dearer)
    assert _cancel(signed_in(active), active, reason="too_expensive").status_code == 302


def test_the_product_settings_save_the_cancel_flow(active, owner, login):
    lite = _lite(active)
    url = reverse("dashboard:recovery_policy", args=[active.plan.product.uuid])
    client = login(owner)
    page = client.get(url).content.decode()
    assert 'id="cancel-flow-settings"' in page and str(lite.uuid) in page
    missing = client.post(url, {"final_action": "leave_unpaid", "retention_offer": "downgrade"})
    assert missing.status_code == 400
    assert "Choose the cheaper plan to offer." in missing.content.decode()
    saved = client.post(
        url,
        {
            "final_action": "leave_unpaid",
            "retention_offer": "downgrade",
            "retention_plan": str(lite.uuid),
            "cancel_reasons": "A\nB",
        },
    )
    assert saved.status_code == 302
    policy = RecoveryPolicy.objects.get(product=active.plan.product)
    assert (policy.retention_offer, policy.retention_plan, policy.cancel_reasons) == (
        "downgrade",
        lite,
        "A\nB",
    )
    foreign = client.post(
        url,
        {
            "final_action": "leave_unpaid",
            "retention_offer": "downgrade",
            "retention_plan": str(PlanFactory().uuid),
        },
    )
    assert foreign.status_code == 400


def test_a_coupon_offer_taken_discounts_from_the_next_renewal(active):
    from subscriptions import renewals
    from subscriptions.coupons import coupon_create
    from subscriptions.models import Charge

    coupon = coupon_create(
        creator=active.creator,
        code="STAY30",
        kind="percent",
        value=Decimal(30),
        duration="repeating",
        duration_periods=2,
    )
    _policy(active, retention_offer=Offer.COUPON, retention_coupon=coupon)
    client = signed_in(active)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        page = _cancel(client, active, reason="too_expensive").content.decode()
        assert "Stay and get 30% off for 2 periods, from May 10, 2026." in page
        taken = client.post(
            reverse("subscriber:retain", args=[active.creator.slug, active.uuid]),
            {"offer": "coupon", "reason": "too_expensive"},
            follow=True,
        ).content.decode()
    assert "From May 10, 2026 you get 30% off for 2 periods." in taken
    for day in (DUE, date(2026, 6, 10), date(2026, 7, 10)):
        with time_machine.travel(noon(day), tick=False):
            renewals.renewals_run()
    assert [
        c.amount for c in Charge.objects.filter(subscription=active).order_by("period_start")
    ] == [Decimal("35.00"), Decimal("35.00"), Decimal("50.00")]
    event = SubscriptionEvent.objects.get(subscription=active, type="subscription.retained")
    assert event.data["offer"] == {"kind": "coupon", "coupon": "STAY30"}


def test_a_rule_can_single_out_the_offer_taken_or_declined(active):
    from segmentation.conditions import conditions_hold
    from segmentation.facts import event_facts

    _policy(active, retention_offer=Offer.PAUSE)
    subscription_retain(
        subscription=active, actor=Actor.subscriber(active.subscriber), kind="pause", reason=""
    )
    taken = SubscriptionEvent.objects.get(subscription=active, type="subscription.retained")
    facts = event_facts(taken, active)
    assert facts["retention.offer"] == "pause"
    condition = [{"field": "retention.offer", "op": "eq", "value": "pause"}]
    assert conditions_hold(condition, "all", facts)
    declined = SubscriptionFactory(creator=active.creator, plan=active.plan)
    client = signed_in(declined)
    _cancel(client, declined, reason="too_expensive", declined_offer="pause")
    cancelled = SubscriptionEvent.objects.get(
        subscription=declined, type="subscription.status_changed"
    )
    assert event_facts(cancelled, declined)["retention.offer"] == "pause"
