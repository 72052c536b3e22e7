"""Plan-switch arithmetic (subscriptions/proration.py): properties over any anchor, day,
period, prices and time zone, and the module's worked example."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions import billing
from subscriptions.proration import (
    ChangeKind,
    change_kind,
    current_period,
    monthly_price,
    proration,
)

PERIODS = st.sampled_from(billing.PERIODS)
PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
MONTH_ENDS = st.builds(
    lambda year, month: billing.add_months(date(year, month, 1), 1) - timedelta(days=1),
    st.integers(2000, 2099),
    st.integers(1, 12),
)
ANCHORS = st.one_of(st.dates(date(2000, 1, 1), date(2099, 12, 31)), MONTH_ENDS)
ZONES = st.sampled_from(sorted(zoneinfo.available_timezones()))


@settings(max_examples=400, deadline=None)
@given(
    anchor=ANCHORS,
    period=PERIODS,
    days=st.integers(0, 3 * 366),
    old=PRICES,
    new=PRICES,
)
def test_credit_and_charge_stay_within_one_period_and_never_go_negative(
    anchor, period, days, old, new
):
    today = anchor + timedelta(days=days)
    result = proration(anchor=anchor, period=period, today=today, old_price=old, new_price=new)

    assert result.period_start <= today < result.period_end
    n = billing.period_index(anchor, period, result.period_start)
    assert billing.due_date(anchor, period, n + 1) == result.period_end  # consecutive dues
    assert 0 < result.days_left <= result.days_in_period
    assert Decimal(0) <= result.credit <= old
    assert Decimal(0) <= result.charge <= new
    if new >= old:
        assert Decimal(0) <= result.amount_due <= new
    assert result.credit.as_tuple().exponent == result.charge.as_tuple().exponent == -2


@settings(max_examples=200, deadline=None)
@given(anchor=ANCHORS, period=PERIODS, n=st.integers(0, 30), old=PRICES, new=PRICES)
def test_switching_on_a_due_date_counts_the_whole_period(anchor, period, n, old, new):
    today = billing.due_date(anchor, period, n)
    result = proration(anchor=anchor, period=period, today=today, old_price=old, new_price=new)
    assert (result.credit, result.charge) == (old, new)
    assert result.days_left == result.days_in_period


@settings(max_examples=200, deadline=None)
@given(year=st.integers(2000, 2099), old=PRICES, new=PRICES)
def test_month_ends_and_leap_years_follow_the_calendar(year, old, new):
    # Anchored on January 31: February's period ends on its last day, 28 or 29.
    anchor = date(year, 1, 31)
    february_end = date(year, 3, 1) - timedelta(days=1)
    start, end = current_period(anchor, "monthly", february_end - timedelta(days=1))
    assert (start, end) == (anchor, february_end)
    start, end = current_period(anchor, "monthly", february_end)
    assert (start, end) == (february_end, date(year, 3, 31))
    # The same position in the period costs the same, leap year or not.
    left = proration(
        anchor=anchor, period="monthly", today=date(year, 3, 30), old_price=old, new_price=new
    )
    assert (left.days_left, left.days_in_period) == (1, 31)
    a_leap_day = date(2024, 2, 29)
    yearly = proration(
        anchor=a_leap_day,
        period="yearly",
        today=date(2025, 2, 27),
        old_price=old,
        new_price=new,
    )
    assert (yearly.period_start, yearly.period_end) == (date(2024, 2, 29), date(2025, 2, 28))
    assert (yearly.days_left, yearly.days_in_period) == (1, 365)


@settings(max_examples=200, deadline=None)
@given(
    anchor=ANCHORS,
    period=PERIODS,
    minutes=st.integers(0, 3 * 366 * 24 * 60),
    zone=ZONES,
    old=PRICES,
    new=PRICES,
)
def test_any_time_zone_is_the_creators_local_date(anchor, period, minutes, zone, old, new):
    moment = datetime(anchor.year, anchor.month, anchor.day, 12, tzinfo=UTC) + timedelta(
        minutes=minutes
    )
    today = billing.local_date(moment, zone)
    if today < anchor:  # the first hours of the anchor day, west of UTC
        return
    result = proration(anchor=anchor, period=period, today=today, old_price=old, new_price=new)
    assert result.period_start <= today < result.period_end
    assert result == proration(
        anchor=anchor, period=period, today=today, old_price=old, new_price=new
    )


@given(old=PRICES, new=PRICES, old_period=PERIODS, new_period=PERIODS)
def test_only_a_dearer_plan_of_the_same_period_is_an_upgrade_now(old, new, old_period, new_period):
    kind = change_kind(old_price=old, old_period=old_period, new_price=new, new_period=new_period)
    if old_period != new_period:
        assert kind is ChangeKind.AT_RENEWAL
    else:
        assert (kind is ChangeKind.UPGRADE_NOW) == (new > old)


def test_prices_compare_per_normalized_month_not_per_day():
    # 120.00 a year is 10.00 a month; 11.00 monthly is dearer per month, yet a change of
    # period: never an upgrade now.
    assert monthly_price(Decimal("120.00"), "yearly") == Decimal("10")
    assert monthly_price(Decimal("12.00"), "weekly") == Decimal("52")
    assert (
        change_kind(
            old_price=Decimal("120.00"),
            old_period="yearly",
            new_price=Decimal("11.00"),
            new_period="monthly",
        )
        is ChangeKind.AT_RENEWAL
    )


def test_the_worked_example():
    result = proration(
        anchor=date(2026, 1, 10),
        period="monthly",
        today=date(2026, 1, 25),
        old_price=Decimal("50.00"),
        new_price=Decimal("80.00"),
    )
    assert (result.period_start, result.period_end) == (date(2026, 1, 10), date(2026, 2, 10))
    assert (result.days_in_period, result.days_left) == (31, 16)
    assert (result.credit, result.charge, result.amount_due) == (
        Decimal("25.81"),
        Decimal("41.29"),
        Decimal("15.48"),
    )


def test_a_day_before_the_anchor_is_refused():
    with pytest.raises(ValueError, match="before the anchor"):
        current_period(date(2026, 1, 10), "monthly", date(2026, 1, 9))
