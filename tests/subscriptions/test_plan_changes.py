"""Plan switch (subscriptions/plan_changes.py): upgrade now with the prorated charge,
switches scheduled for the renewal and charged there at the new price, the refusals, and
the API endpoint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from core.errors import Conflict, DomainError, GatewayUnavailable, PaymentDeclined
from subscriptions import renewals
from subscriptions.models import Charge, Status, SubscriptionEvent
from subscriptions.plan_changes import subscription_plan_change
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory, actor_for

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 1, 10)
DUE = date(2026, 2, 10)
MEMBER = actor_for("seller")


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # noon in São Paulo


def _subscription(price: str = "50.00", period: str = "monthly", pm: str = "pm_sandbox_ok"):  # type: ignore[no-untyped-def]
    plan = PlanFactory(product=ProductFactory(), price=Decimal(price), period=period)
    return SubscriptionFactory(
        plan=plan,
        payment_method=pm,
        billing_anchor=ANCHOR,
        started_at=noon(ANCHOR),
        next_charge_date=DUE,
        paid_through=DUE,
    )


def _plan_like(subscription, price: str, period: str = "monthly", **kw):  # type: ignore[no-untyped-def]
    fields = {
        "product": subscription.plan.product,
        "creator": subscription.creator,
        "price": Decimal(price),
        "currency": subscription.plan.currency,
        "period": period,
        **kw,
    }
    return PlanFactory(**fields)


def test_a_dearer_plan_is_charged_the_difference_now_and_the_renewal_the_new_price():
    sub = _subscription()
    dearer = _plan_like(sub, "80.00", name="Pro")
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        change = subscription_plan_change(subscription=sub, plan=dearer, actor=MEMBER)

    assert change.kind == "upgrade_now" and change.effective_on == date(2026, 1, 25)
    assert change.charge is not None
    assert (change.charge.kind, change.charge.status) == ("plan_change", "succeeded")
    assert change.charge.amount == Decimal("15.48")  # 80 * 16/31 - 50 * 16/31
    sub.refresh_from_db()
    assert sub.plan == dearer
    assert (sub.billing_anchor, sub.paid_through, sub.next_charge_date) == (ANCHOR, DUE, DUE)
    [event] = SubscriptionEvent.objects.filter(subscription=sub, type="subscription.plan_changed")
    assert event.data["when"] == "now"
    assert event.data["to"]["name"] == "Pro"
    assert event.data["proration"]["amount_due"] == "15.48"

    with time_machine.travel(noon(DUE), tick=False):
        renewals.renewals_run()
    renewal = Charge.objects.get(subscription=sub, kind="renewal")
    assert (renewal.amount, renewal.status) == (Decimal("80.00"), "succeeded")


def test_a_declined_upgrade_changes_nothing_and_says_why():
    sub = _subscription(pm="pm_sandbox_insufficient_funds")
    dearer = _plan_like(sub, "80.00")
    with (
        time_machine.travel(noon(date(2026, 1, 25)), tick=False),
        pytest.raises(PaymentDeclined, match=r"declined.*stays on its plan"),
    ):
        subscription_plan_change(subscription=sub, plan=dearer, actor=MEMBER)
    sub.refresh_from_db()
    assert sub.plan != dearer and sub.status == Status.ACTIVE
    assert Charge.objects.get(subscription=sub).status == "declined"


def test_an_unanswered_upgrade_changes_nothing_and_can_be_tried_again():
    sub = _subscription(pm="pm_sandbox_error")
    dearer = _plan_like(sub, "80.00")
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        with pytest.raises(GatewayUnavailable):
            subscription_plan_change(subscription=sub, plan=dearer, actor=MEMBER)
        sub.payment_method = "pm_sandbox_ok"
        sub.save(update_fields=["payment_method"])
        change = subscription_plan_change(subscription=sub, plan=dearer, actor=MEMBER)
    assert change.charge is not None and change.charge.status == "succeeded"
    keys = sorted(Charge.objects.filter(subscription=sub).values_list("idempotency_key", flat=True))
    assert [k[-3:] for k in keys] == ["_t1", "_t2"]  # a new key per try, one switch


def test_a_switch_being_charged_refuses_another():
    sub = _subscription()
    dearer = _plan_like(sub, "80.00")
    Charge.objects.create(
        creator=sub.creator,
        subscription=sub,
        amount=Decimal("1.00"),
        currency=sub.plan.currency,
        kind="plan_change",
        period_start=ANCHOR,
        period_end=DUE,
        idempotency_key="in-flight",
        status="pending",
    )
    with (
        time_machine.travel(noon(date(2026, 1, 25)), tick=False),
        pytest.raises(Conflict, match="still being processed"),
    ):
        subscription_plan_change(subscription=sub, plan=dearer, actor=MEMBER)


def test_a_cheaper_plan_waits_for_the_renewal_which_charges_its_price():
    sub = _subscription(price="80.00")
    cheaper = _plan_like(sub, "50.00")
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        change = subscription_plan_change(subscription=sub, plan=cheaper, actor=MEMBER)
    assert (change.kind, change.effective_on, change.charge) == ("at_renewal", DUE, None)
    sub.refresh_from_db()
    assert sub.scheduled_plan == cheaper and sub.plan != cheaper
    assert not Charge.objects.filter(subscription=sub).exists()

    with time_machine.travel(noon(DUE), tick=False):
        renewals.renewals_run()
        assert Charge.objects.filter(subscription=sub).count() == 1  # switched and charged
        renewals.renewals_run()  # a second run the same day charges nothing more
    sub.refresh_from_db()
    assert sub.plan == cheaper and sub.scheduled_plan is None
    [renewal] = Charge.objects.filter(subscription=sub)
    assert (renewal.kind, renewal.amount, renewal.status) == (
        "renewal",
        Decimal("50.00"),
        "succeeded",
    )
    [event] = SubscriptionEvent.objects.filter(subscription=sub, type="subscription.plan_changed")
    assert event.data["when"] == "renewal" and event.data["effective_on"] == "2026-02-10"


def test_another_period_is_never_an_upgrade_now_and_the_current_plan_calls_it_off():
    sub = _subscription(price="120.00", period="yearly")
    monthly = _plan_like(sub, "11.00")  # dearer per month, but another period
    change = subscription_plan_change(subscription=sub, plan=monthly, actor=MEMBER)
    assert change.kind == "at_renewal"
    off = subscription_plan_change(subscription=sub, plan=sub.plan, actor=MEMBER)
    assert off.cancelled
    sub.refresh_from_db()
    assert sub.scheduled_plan is None
    with pytest.raises(Conflict, match="already on this plan"):
        subscription_plan_change(subscription=sub, plan=sub.plan, actor=MEMBER)


def test_the_refusals():
    sub = _subscription()
    with pytest.raises(DomainError, match="same product"):
        subscription_plan_change(
            subscription=sub, plan=PlanFactory(creator=sub.creator), actor=MEMBER
        )
    with pytest.raises(DomainError, match="same currency"):
        subscription_plan_change(
            subscription=sub, plan=_plan_like(sub, "80.00", currency="USD"), actor=MEMBER
        )
    sub.status = Status.DELAYED
    sub.save(update_fields=["status"])
    with pytest.raises(Conflict, match="Only an active subscription"):
        subscription_plan_change(subscription=sub, plan=_plan_like(sub, "80.00"), actor=MEMBER)


def test_the_api_switches_and_answers_the_change(creator):  # type: ignore[no-untyped-def]
    plan = PlanFactory(product=ProductFactory(creator=creator), price=Decimal("50.00"))
    sub = SubscriptionFactory(
        plan=plan,
        payment_method="pm_sandbox_ok",
        billing_anchor=ANCHOR,
        started_at=noon(ANCHOR),
        next_charge_date=DUE,
        paid_through=DUE,
    )
    dearer = _plan_like(sub, "80.00")
    cheaper = _plan_like(sub, "30.00")
    client = api_client(creator)
    url = f"/api/v1/subscriptions/{sub.uuid}/change-plan"
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        up = client.post(url, {"plan": str(dearer.uuid)}, format="json")
        assert up.status_code == 200, up.content
        body = up.json()
        assert body["subscription"]["plan"] == str(dearer.uuid)
        assert body["change"]["kind"] == "upgrade_now"
        assert body["change"]["proration"]["amount_due"] == "15.48"
        assert body["change"]["charge"]["amount"] == "15.48"

        down = client.post(url, {"plan": str(cheaper.uuid)}, format="json")
        assert down.status_code == 200, down.content
        assert down.json()["change"] == {
            "kind": "at_renewal",
            "effective_on": "2026-02-10",
            "scheduled_plan": str(cheaper.uuid),
            "cancelled": False,
            "proration": None,
            "charge": None,
        }
        assert down.json()["subscription"]["plan"] == str(dearer.uuid)

        unknown = client.post(url, {"plan": "00000000-0000-0000-0000-000000000000"}, format="json")
        assert unknown.status_code == 400
        other = client.post(url, {"plan": str(PlanFactory().uuid)}, format="json")
        assert other.status_code == 400  # another creator's plan is unknown here
        missing = client.post(url, {}, format="json")
        assert missing.status_code == 400
