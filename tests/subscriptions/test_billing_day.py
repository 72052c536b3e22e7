"""Change billing day (subscriptions/billing_day.py): the worked example, the renewal that
carries the adjustment (and its retry), month ends, once a period, the refusals, and the
API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from core.actors import Actor
from core.errors import Conflict, DomainError
from subscriptions import renewals
from subscriptions.billing_day import billing_day_change, subscription_billing_day_change
from subscriptions.models import Charge, RecoveryPolicy, SubscriptionEvent
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory, actor_for

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 1, 10)
DUE = date(2026, 5, 10)
MEMBER = actor_for("seller")


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


def _subscription(pm: str = "pm_sandbox_ok", period: str = "monthly"):  # type: ignore[no-untyped-def]
    plan = PlanFactory(product=ProductFactory(), price=Decimal("50.00"), period=period)
    return SubscriptionFactory(
        plan=plan,
        payment_method=pm,
        billing_anchor=ANCHOR,
        started_at=noon(ANCHOR),
        next_charge_date=DUE,
        paid_through=DUE,
    )


def test_later_adds_the_days_moved_to_the_next_charge_only():
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        change = subscription_billing_day_change(subscription=sub, actor=MEMBER, day=20)
    assert (change.next_charge_date, change.days, change.adjustment) == (
        date(2026, 5, 20),
        10,
        Decimal("16.13"),  # 50.00 * 10 / 31
    )
    sub.refresh_from_db()
    assert (sub.next_charge_date, sub.paid_through, sub.billing_anchor) == (
        date(2026, 5, 20),
        date(2026, 5, 20),
        date(2026, 4, 20),
    )
    event = SubscriptionEvent.objects.get(subscription=sub, type="subscription.billing_day_changed")
    assert event.data["from"] == "2026-05-10" and event.data["adjustment"] == "16.13"

    with time_machine.travel(noon(DUE), tick=False):
        assert renewals.renewals_run().claimed == 0
    for day in (date(2026, 5, 20), date(2026, 6, 20)):
        with time_machine.travel(noon(day), tick=False):
            renewals.renewals_run()
    amounts = [
        (c.period_start, c.amount, c.period_end)
        for c in Charge.objects.filter(subscription=sub).order_by("period_start")
    ]
    assert amounts == [
        (date(2026, 5, 20), Decimal("66.13"), date(2026, 6, 20)),
        (date(2026, 6, 20), Decimal("50.00"), date(2026, 7, 20)),
    ]


def test_earlier_credits_the_days_already_paid_also_on_a_retry():
    sub = _subscription(pm="pm_sandbox_insufficient_funds")
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        change = subscription_billing_day_change(subscription=sub, actor=MEMBER, day=5)
    assert (change.next_charge_date, change.days, change.adjustment) == (
        date(2026, 5, 5),
        -5,
        Decimal("-8.33"),  # 50.00 * 5 / 30 credited
    )
    with time_machine.travel(noon(date(2026, 5, 5)), tick=False):
        renewals.renewals_run()
    with time_machine.travel(noon(date(2026, 5, 6)), tick=False):
        renewals.retries_run()
    assert [c.amount for c in Charge.objects.filter(subscription=sub).order_by("id")] == [
        Decimal("41.67"),
        Decimal("41.67"),
    ]


def test_a_day_already_past_this_month_moves_to_the_next_month():
    change = billing_day_change(
        next_due=date(2026, 5, 31),
        day=10,
        today=date(2026, 5, 25),
        period="monthly",
        price=Decimal("50.00"),
        currency="BRL",
    )
    assert (change.next_charge_date, change.days, change.anchor) == (
        date(2026, 6, 10),
        10,
        date(2026, 5, 10),
    )
    assert change.adjustment == Decimal("16.67")  # 50.00 * 10 / 30 (May 31 -> June 30)


@given(
    due_offset=st.integers(min_value=1, max_value=28),
    today_offset=st.integers(min_value=0, max_value=60),
    day=st.integers(min_value=1, max_value=28),
    period=st.sampled_from(["monthly", "quarterly", "yearly"]),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999"), places=2),
)
def test_the_adjustment_is_never_more_than_a_period_and_the_date_is_ahead(
    due_offset, today_offset, day, period, price
):  # type: ignore[no-untyped-def]
    today = date(2028, 1, 1).fromordinal(date(2028, 1, 1).toordinal() + today_offset)
    next_due = today.fromordinal(today.toordinal() + due_offset)
    try:
        change = billing_day_change(
            next_due=next_due, day=day, today=today, period=period, price=price, currency="BRL"
        )
    except Conflict:
        assert next_due.day == day
        return
    assert change.next_charge_date > today and change.next_charge_date.day == day
    assert change.anchor <= today
    assert abs(change.adjustment) <= price
    if change.next_charge_date > next_due:  # later: added; earlier: credited
        assert change.adjustment >= 0 and change.days > 0
    else:
        assert change.adjustment <= 0 and change.days < 0


def test_once_a_period_and_the_other_refusals():
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        with pytest.raises(DomainError) as bad_day:
            subscription_billing_day_change(subscription=sub, actor=MEMBER, day=31)
        with pytest.raises(Conflict) as same:
            subscription_billing_day_change(subscription=sub, actor=MEMBER, day=10)
        with pytest.raises(Conflict) as not_offered:
            subscription_billing_day_change(
                subscription=sub, actor=Actor.subscriber(sub.subscriber), day=15
            )
        subscription_billing_day_change(subscription=sub, actor=MEMBER, day=15)
        with pytest.raises(Conflict) as twice:
            subscription_billing_day_change(subscription=sub, actor=MEMBER, day=16)
    assert bad_day.value.details == {"day": ["Choose a day from 1 to 28."]}
    assert (same.value.code, not_offered.value.code, twice.value.code) == (
        "same_day",
        "not_offered",
        "once_per_period",
    )
    with time_machine.travel(noon(date(2026, 5, 21)), tick=False):
        subscription_billing_day_change(subscription=sub, actor=MEMBER, day=16)
    weekly = _subscription(period="weekly")
    with pytest.raises(DomainError) as week:
        subscription_billing_day_change(subscription=weekly, actor=MEMBER, day=3)
    assert week.value.code == "weekly"


def test_a_subscriber_changes_it_where_the_product_allows():
    sub = _subscription()
    RecoveryPolicy.objects.create(
        creator=sub.creator, product=sub.plan.product, subscribers_can_change_billing_day=True
    )
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        subscription_billing_day_change(
            subscription=sub, actor=Actor.subscriber(sub.subscriber), day=25
        )
    sub.refresh_from_db()
    assert sub.next_charge_date == date(2026, 5, 25)


def test_billing_day_through_the_api():
    sub = _subscription()
    client = api_client(sub.creator)
    url = f"/api/v1/subscriptions/{sub.uuid}/billing-day"
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        assert client.post(url, {"day": 0}, format="json").status_code == 400
        assert client.post(url, {"day": "x"}, format="json").status_code == 400
        answer = client.post(url, {"day": 20}, format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json()["billing_day"] == {
            "next_charge_date": "2026-05-20",
            "days": 10,
            "adjustment": "16.13",
        }
        assert answer.json()["subscription"]["next_charge_date"] == "2026-05-20"
        again = client.post(url, {"day": 21}, format="json")
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "once_per_period"
