"""Properties of the billing calendar (SPEC §4.3): pure functions, no database."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions import billing

MONTHLY_PERIODS = list(billing.MONTHS_PER_PERIOD)
TEN_YEARS_OF_CYCLES = {
    "weekly": 522,
    "monthly": 120,
    "bimonthly": 60,
    "quarterly": 40,
    "semiannual": 20,
    "yearly": 10,
}

anchors = st.builds(
    lambda year, month, day: date(year, month, min(day, calendar.monthrange(year, month)[1])),
    st.integers(1990, 2090),
    st.integers(1, 12),
    st.integers(1, 31),
)


def test_all_six_periods_are_known():
    assert set(billing.PERIODS) == set(TEN_YEARS_OF_CYCLES)


@settings(max_examples=300)
@given(anchor=anchors, period=st.sampled_from(MONTHLY_PERIODS))
def test_monthly_periods_keep_the_anchor_day_or_the_months_last_day(anchor, period):
    months = billing.MONTHS_PER_PERIOD[period]
    for n in range(TEN_YEARS_OF_CYCLES[period] + 1):
        due = billing.due_date(anchor, period, n)
        month_index = anchor.year * 12 + anchor.month - 1 + months * n
        assert (due.year, due.month) == (month_index // 12, month_index % 12 + 1)
        last_day = calendar.monthrange(due.year, due.month)[1]
        # No drift: a short month clamps once and the next due date returns to the anchor day.
        assert due.day == min(anchor.day, last_day)


@pytest.mark.parametrize("day", range(1, 32))
@pytest.mark.parametrize("period", MONTHLY_PERIODS)
def test_every_anchor_day_over_ten_years_of_cycles(day, period):
    for year, month in [(2023, 1), (2024, 1), (2024, 12)]:
        if day > calendar.monthrange(year, month)[1]:
            continue
        anchor = date(year, month, day)
        dues = [billing.due_date(anchor, period, n) for n in range(TEN_YEARS_OF_CYCLES[period])]
        assert dues == sorted(set(dues)), "due dates strictly increase"
        assert all(d.day == min(day, calendar.monthrange(d.year, d.month)[1]) for d in dues)


@given(anchor=anchors, n=st.integers(0, TEN_YEARS_OF_CYCLES["weekly"]))
def test_weekly_is_seven_days(anchor, n):
    assert billing.due_date(anchor, "weekly", n) == anchor + timedelta(days=7 * n)
    assert billing.due_date(anchor, "weekly", n + 1) - billing.due_date(anchor, "weekly", n) == (
        timedelta(days=7)
    )


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        (
            date(2026, 1, 31),
            [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)],
        ),
        (
            date(2024, 1, 31),
            [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)],
        ),
    ],
)
def test_month_end_anchor_clamps_without_drifting(anchor, expected):
    assert [billing.due_date(anchor, "monthly", n) for n in range(4)] == expected


@pytest.mark.parametrize(
    ("anchor", "n", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2023, 8, 31), 1, date(2024, 2, 29)),  # semiannual into a leap February
        (date(2023, 12, 31), 1, date(2024, 2, 29)),  # bimonthly
        (date(2023, 11, 30), 1, date(2024, 2, 29)),  # quarterly
    ],
)
def test_leap_years(anchor, n, expected):
    period = {
        (2024, 2): "yearly",
        (2023, 8): "semiannual",
        (2023, 12): "bimonthly",
        (2023, 11): "quarterly",
    }[(anchor.year, anchor.month)]
    assert billing.due_date(anchor, period, n) == expected


@settings(max_examples=300)
@given(
    anchor=anchors,
    period=st.sampled_from(billing.PERIODS),
    offset=st.integers(-400, 3700),
)
def test_first_due_on_or_after_is_the_smallest(anchor, period, offset):
    day = anchor + timedelta(days=offset)
    n, due = billing.first_due_on_or_after(anchor, period, day)
    assert due == billing.due_date(anchor, period, n)
    assert due >= day
    assert n == 0 or billing.due_date(anchor, period, n - 1) < day


@settings(max_examples=300)
@given(anchor=anchors, period=st.sampled_from(billing.PERIODS), n=st.integers(0, 130))
def test_period_index_inverts_due_date(anchor, period, n):
    assert billing.period_index(anchor, period, billing.due_date(anchor, period, n)) == n


@given(anchor=anchors, period=st.sampled_from(billing.PERIODS), n=st.integers(0, 120))
def test_period_index_refuses_a_day_that_is_not_due(anchor, period, n):
    due = billing.due_date(anchor, period, n)
    not_due = due + timedelta(days=1)  # the shortest period is 7 days
    with pytest.raises(ValueError, match="not a due date"):
        billing.period_index(anchor, period, not_due)


def test_unknown_period_is_an_error():
    with pytest.raises(ValueError, match="unknown period"):
        billing.due_date(date(2026, 1, 1), "daily", 1)


def test_local_date_follows_the_creators_time_zone():
    moment = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)  # 23:30 on the 10th in São Paulo
    assert billing.local_date(moment, "America/Sao_Paulo") == date(2026, 3, 10)
    assert billing.local_date(moment, "UTC") == date(2026, 3, 11)
    with pytest.raises(ValueError, match="aware"):
        billing.local_date(datetime(2026, 3, 11, 2, 30), "UTC")


def test_retry_dates_follow_the_schedule():
    assert billing.retry_dates(date(2026, 2, 27), [1, 3, 5]) == [
        date(2026, 2, 28),
        date(2026, 3, 2),
        date(2026, 3, 4),
    ]
