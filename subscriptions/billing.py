"""The billing calendar as pure functions: no ORM, no clock, no time zone lookups.

Due dates are always `anchor + n periods`, computed from the anchor every time, so a
month-end anchor never drifts: Jan 31 → Feb 28/29 → Mar 31 → Apr 30 (SPEC §4.3).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS_PER_PERIOD: dict[str, int] = {
    "monthly": 1,
    "bimonthly": 2,
    "quarterly": 3,
    "semiannual": 6,
    "yearly": 12,
}
PERIODS: tuple[str, ...] = ("weekly", *MONTHS_PER_PERIOD)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the last day of the target month."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def due_date(anchor: date, period: str, n: int) -> date:
    """The n-th due date of a subscription anchored on `anchor` (n = 0 is the anchor)."""
    if period == "weekly":
        return anchor + timedelta(days=7 * n)
    try:
        months = MONTHS_PER_PERIOD[period]
    except KeyError:
        raise ValueError(f"unknown period: {period!r}") from None
    return add_months(anchor, months * n)


def first_due_on_or_after(anchor: date, period: str, day: date) -> tuple[int, date]:
    """The smallest n with `due_date(anchor, period, n) >= day`, and that date."""
    if day <= anchor:
        return 0, anchor
    if period == "weekly":
        n = -(-(day - anchor).days // 7)
    else:
        months = MONTHS_PER_PERIOD[period]
        elapsed = (day.year - anchor.year) * 12 + (day.month - anchor.month)
        n = max(0, elapsed // months - 1)
    while due_date(anchor, period, n) < day:
        n += 1
    return n, due_date(anchor, period, n)


def period_index(anchor: date, period: str, start: date) -> int:
    """n with `due_date(anchor, period, n) == start`; ValueError if `start` is not a due date."""
    n, found = first_due_on_or_after(anchor, period, start)
    if found != start:
        raise ValueError(f"{start} is not a due date of anchor {anchor} ({period})")
    return n


def local_date(moment: datetime, tz: ZoneInfo | str) -> date:
    """The calendar date of an aware `moment` in the creator's time zone."""
    if moment.tzinfo is None:
        raise ValueError("local_date needs an aware datetime")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return moment.astimezone(zone).date()


def retry_dates(due: date, schedule: list[int]) -> list[date]:
    """The days a declined charge due on `due` is retried (default 1, 3 and 5 days later)."""
    return [due + timedelta(days=d) for d in schedule]
