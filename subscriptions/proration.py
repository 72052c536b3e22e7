"""Plan-switch arithmetic as pure functions (issue: plan switch): which kind of change a
switch is, and what an immediate upgrade costs. No ORM, no clock, no time zone lookups:
callers pass the creator's local date (`billing.local_date`).

Kind of change, by price per normalized month (a weekly price counts 52/12 weeks a
month), never per day, so plans of different lengths compare fairly:
- another period (annual → monthly, monthly → quarterly): scheduled for the next
  renewal, never "upgrade now";
- same period, higher price per month: upgrade now, prorated;
- same period, lower or equal price: scheduled for the next renewal (nothing charged or
  refunded now).

Proration of an upgrade, over the current period `[start, end)` of the anchor series
(`billing.due_date`, so month ends and leap years follow the calendar, never drift):

    days_left = end - today  (today counts as unused: switched today)
    credit    = old price * days_left / days in the period   (unused time of the old plan)
    charge    = new price * days_left / days in the period   (the new plan for that time)
    due now   = charge - credit

each rounded to the currency's smallest unit (half up, on the amount, not on the
fraction). From the next renewal the new price is charged on the same anchor.

*Worked example: a monthly plan at 50.00 anchored on January 10, switched on January 25
to a monthly plan at 80.00. The period January 10 → February 10 has 31 days, 16 of them
left: credit 50.00 * 16/31 = 25.81, charge 80.00 * 16/31 = 41.29, due now 15.48; on
February 10 the renewal charges 80.00.*
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from subscriptions import billing

WEEKS_PER_MONTH = Decimal(52) / Decimal(12)


class ChangeKind(enum.StrEnum):
    UPGRADE_NOW = "upgrade_now"
    AT_RENEWAL = "at_renewal"  # a downgrade, an equal price, or another period


def monthly_price(price: Decimal, period: str) -> Decimal:
    """The price per normalized month of a plan charging `price` every `period`."""
    if period == "weekly":
        return price * WEEKS_PER_MONTH
    return price / billing.MONTHS_PER_PERIOD[period]


def change_kind(
    *, old_price: Decimal, old_period: str, new_price: Decimal, new_period: str
) -> ChangeKind:
    """See the module: only a dearer plan of the same period is an upgrade now."""
    if old_period != new_period:
        return ChangeKind.AT_RENEWAL
    if monthly_price(new_price, new_period) > monthly_price(old_price, old_period):
        return ChangeKind.UPGRADE_NOW
    return ChangeKind.AT_RENEWAL


def current_period(anchor: date, period: str, today: date) -> tuple[date, date]:
    """The due dates `start <= today < end` of the anchor series around `today`."""
    if today < anchor:
        raise ValueError(f"{today} is before the anchor {anchor}")
    n, found = billing.first_due_on_or_after(anchor, period, today)
    if found == today:
        return today, billing.due_date(anchor, period, n + 1)
    return billing.due_date(anchor, period, n - 1), found


@dataclass(frozen=True)
class Proration:
    period_start: date
    period_end: date
    days_in_period: int
    days_left: int
    credit: Decimal
    charge: Decimal

    @property
    def amount_due(self) -> Decimal:
        return self.charge - self.credit


def _money(amount: Decimal, decimals: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def proration(
    *,
    anchor: date,
    period: str,
    today: date,
    old_price: Decimal,
    new_price: Decimal,
    decimals: int = 2,
) -> Proration:
    """The credit, charge and amount due of switching on `today` (see the module)."""
    start, end = current_period(anchor, period, today)
    days_in_period = (end - start).days
    days_left = (end - today).days
    share = Decimal(days_left) / Decimal(days_in_period)
    return Proration(
        period_start=start,
        period_end=end,
        days_in_period=days_in_period,
        days_left=days_left,
        credit=_money(old_price * share, decimals),
        charge=_money(new_price * share, decimals),
    )
