"""Coupons (subscriptions/coupons.py): the worked example, amount off, the checks, one
redemption at a time, at a plan switch, and the API."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from core.errors import DomainError
from subscriptions import renewals
from subscriptions.coupons import coupon_create, discount
from subscriptions.models import Charge, Coupon
from subscriptions.plan_changes import subscription_plan_change
from subscriptions.services import SubscriberData, subscription_create
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory, actor_for

pytestmark = pytest.mark.django_db

SALE = date(2026, 3, 1)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


def _plan(price: str = "50.00", **kw):  # type: ignore[no-untyped-def]
    return PlanFactory(product=ProductFactory(), price=Decimal(price), period="monthly", **kw)


def _coupon(plan, **kw):  # type: ignore[no-untyped-def]
    fields = {"code": "WELCOME20", "kind": "percent", "value": Decimal(20), "duration": "once"}
    return coupon_create(creator=plan.creator, **{**fields, **kw})


def _sale(plan, coupon, email="ana@example.com", day=SALE):  # type: ignore[no-untyped-def]
    with time_machine.travel(noon(day), tick=False):
        return subscription_create(
            creator=plan.creator,
            plan=plan,
            subscriber=SubscriberData(email=email),
            payment_method="pm_sandbox_ok",
            coupon=coupon,
        )


def _charges(sub):  # type: ignore[no-untyped-def]
    return [
        (c.period_start, c.amount, c.discount, c.coupon_id)
        for c in Charge.objects.filter(subscription=sub).order_by("period_start")
    ]


def test_the_worked_example_twenty_percent_for_three_periods():
    plan = _plan()
    coupon = _coupon(plan, duration="repeating", duration_periods=3)
    sub = _sale(plan, coupon)
    for day in (date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)):
        with time_machine.travel(noon(day), tick=False):
            renewals.renewals_run()
    assert _charges(sub) == [
        (date(2026, 3, 1), Decimal("40.00"), Decimal("10.00"), coupon.pk),
        (date(2026, 4, 1), Decimal("40.00"), Decimal("10.00"), coupon.pk),
        (date(2026, 5, 1), Decimal("40.00"), Decimal("10.00"), coupon.pk),
        (date(2026, 6, 1), Decimal("50.00"), Decimal("0.00"), None),
    ]
    coupon.refresh_from_db()
    assert coupon.redemptions == 1


def test_an_amount_off_forever_never_goes_below_zero():
    plan = _plan("8.00")
    coupon = _coupon(plan, kind="amount", value=Decimal(10), currency="BRL", duration="forever")
    sub = _sale(plan, coupon)
    with time_machine.travel(noon(date(2026, 4, 1)), tick=False):
        renewals.renewals_run()
    assert [c[1:3] for c in _charges(sub)] == [
        (Decimal("0.00"), Decimal("8.00")),
        (Decimal("0.00"), Decimal("8.00")),
    ]
    assert discount(
        price=Decimal("99.90"), currency="JPY", percent_off=Decimal("33.33"), amount_off=None
    ) == Decimal(33)


def test_the_checks_refuse_and_charge_nothing():
    plan = _plan()
    other_plan = PlanFactory(product=plan.product, currency=plan.currency)
    cases = {
        "coupon_inactive": _coupon(plan, code="OFF"),
        "coupon_expired": _coupon(plan, code="OLD", expires_at=timezone.now() - timedelta(days=1)),
        "coupon_plan": _coupon(plan, code="OTHER", plans=[other_plan]),
        "coupon_currency": _coupon(
            plan, code="USD5", kind="amount", value=Decimal(5), currency="USD"
        ),
        "coupon_used_up": _coupon(plan, code="ONE", max_redemptions=1),
    }
    Coupon.objects.filter(code="OFF").update(is_active=False)
    Coupon.objects.filter(code="ONE").update(redemptions=1)
    for n, (code, coupon) in enumerate(cases.items()):
        coupon.refresh_from_db()
        with pytest.raises(DomainError) as refused:
            _sale(plan, coupon, email=f"s{n}@example.com", day=date.today())
        assert refused.value.code == code
    assert not Charge.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_last_redemption_goes_to_one_subscriber_only():
    plan = _plan()
    coupon = _coupon(plan, max_redemptions=1)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def buy(n: int) -> None:
        try:
            start.wait()
            _sale(plan, coupon, email=f"buyer{n}@example.com", day=date.today())
            outcomes.append("sold")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["coupon_used_up"] * 5 + ["sold"]
    coupon.refresh_from_db()
    assert coupon.redemptions == 1
    assert Charge.objects.filter(discount__gt=0).count() == 1


def test_a_coupon_at_a_plan_switch_discounts_from_the_next_renewal():
    plan = _plan()
    lite = PlanFactory(product=plan.product, price=Decimal("30.00"), currency=plan.currency)
    sub = _sale(plan, None)
    coupon = _coupon(lite, code="LITE50", value=Decimal(50), plans=[lite])
    with time_machine.travel(noon(date(2026, 3, 10)), tick=False):
        with pytest.raises(DomainError):
            subscription_plan_change(
                subscription=sub,
                plan=PlanFactory(product=plan.product, currency=plan.currency, price=10),
                actor=actor_for("seller"),
                coupon=coupon,
            )
        subscription_plan_change(
            subscription=sub, plan=lite, actor=actor_for("seller"), coupon=coupon
        )
    with time_machine.travel(noon(date(2026, 4, 1)), tick=False):
        renewals.renewals_run()
    assert _charges(sub)[-1] == (date(2026, 4, 1), Decimal("15.00"), Decimal("15.00"), coupon.pk)


def test_coupons_through_the_api():
    plan = _plan()
    client = api_client(plan.creator)
    created = client.post(
        "/api/v1/coupons",
        {"code": "spring10", "kind": "percent", "value": "10", "duration": "forever",
         "plans": [str(plan.uuid)]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["code"], body["percent_off"], body["valid_for"]) == (
        "SPRING10",
        "10.00",
        [str(plan.uuid)],
    )
    duplicate = client.post(
        "/api/v1/coupons",
        {"code": "SPRING10", "kind": "percent", "value": "10", "duration": "forever"},
        format="json",
    )
    assert duplicate.status_code == 422
    too_much = client.post(
        "/api/v1/coupons",
        {"code": "X", "kind": "percent", "value": "120", "duration": "once"},
        format="json",
    )
    assert too_much.status_code == 422
    sale = client.post(
        "/api/v1/subscriptions",
        {"plan": str(plan.uuid), "subscriber": {"email": "c@example.com"},
         "payment_method": "pm_sandbox_ok", "coupon": "Spring10"},
        format="json",
    )  # fmt: skip
    assert sale.status_code == 201, sale.content
    charges = client.get(f"/api/v1/subscriptions/{sale.json()['id']}/charges").json()
    assert charges["results"][0]["amount"] == "45.00"
    unknown = client.post(
        "/api/v1/subscriptions",
        {"plan": str(plan.uuid), "subscriber": {"email": "d@example.com"},
         "payment_method": "pm_sandbox_ok", "coupon": "NOPE"},
        format="json",
    )  # fmt: skip
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"] == {"coupon": ["No coupon with this code."]}
    gone = client.post(f"/api/v1/coupons/{body['id']}/deactivate")
    assert gone.status_code == 200 and gone.json()["is_active"] is False
