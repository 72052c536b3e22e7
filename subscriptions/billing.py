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


# --- reactivation (SPEC §6.1) ------------------------------------------------------

# Imported here so this section stays a pure append to the calendar module.
from dataclasses import dataclass  # noqa: E402

REACTIVATION_MODES: tuple[str, ...] = ("reactivate", "reactivate_and_charge")


@dataclass(frozen=True)
class ReactivationOutcome:
    """What accepting a reactivation request on `accepted_on` does to the billing dates."""

    same_cycle: bool
    billing_anchor: date
    next_charge_date: date
    paid_through: date
    charge_today: bool
    # The period the charge of `reactivate_and_charge` pays for (None when nothing is charged).
    charge_period_start: date | None
    charge_period_end: date | None


def reactivation_outcome(
    *, mode: str, paid_through: date | None, anchor: date, period: str, accepted_on: date
) -> ReactivationOutcome:
    """The billing outcome of a reactivation accepted on the local date R = `accepted_on`.

    Same cycle (R < paid_through): both modes keep the anchor, charge nothing, and the
    next charge is paid_through. *Billing day 10; cancelled April 15; accepted April 20 →
    next charge still May 10.*
    Outside the cycle (R ≥ paid_through, or nothing was ever paid): the anchor becomes R
    and next_charge_date = paid_through = R + 1 period. `reactivate` charges nothing today
    (*accepted May 20 → next charge June 20*); `reactivate_and_charge` charges once, on R,
    for the period starting R (*charged May 20 → next charge June 20*).
    """
    if mode not in REACTIVATION_MODES:
        raise ValueError(f"unknown reactivation mode: {mode!r}")
    if paid_through is not None and accepted_on < paid_through:
        return ReactivationOutcome(
            same_cycle=True,
            billing_anchor=anchor,
            next_charge_date=paid_through,
            paid_through=paid_through,
            charge_today=False,
            charge_period_start=None,
            charge_period_end=None,
        )
    period_end = due_date(accepted_on, period, 1)
    charge = mode == "reactivate_and_charge"
    return ReactivationOutcome(
        same_cycle=False,
        billing_anchor=accepted_on,
        next_charge_date=period_end,
        paid_through=period_end,
        charge_today=charge,
        charge_period_start=accepted_on if charge else None,
        charge_period_end=period_end if charge else None,
    )
