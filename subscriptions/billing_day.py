"""Change billing day (SPEC §4.7): the next due date moves to the chosen day of the month
(1-28, so it exists in every month), and the days moved are prorated on the next charge.

Rules, on the creator's local date T, for an ACTIVE subscription whose next due date is
D, on a plan of whole months (a weekly plan renews on its weekday and is refused):
- the new next due date D' is day `day` of D's month; if that is today or already past,
  the same day of the month after. D' = D is refused (409 `same_day`);
- **later** (D' > D): the subscriber keeps access from D to D' without paying for it
  now; those k = D' - D days are added to the charge on D', prorated on the period that
  starts on D: price * k / days of [D, D + 1 period);
- **earlier** (T < D' < D): the k = D - D' days already paid after D' are credited on the
  charge on D', prorated on the period paid: price * k / days of [D - 1 period, D);
- from then on the due dates are D' + n periods (anchor series recomputed; the anchor
  is kept on or before today, a whole number of periods before D'), `paid_through` is D'
  and the adjustment applies to the charge of the period starting D', its retries
  included, whoever makes it (`services.due_amount`). Rounded half up to the currency's
  unit; a credit never takes a charge below zero;
- at most once a period: refused (409 `once_per_period`) while the last change is less
  than one period old. Nothing is charged at the moment of the change.

*Worked example: monthly at 50.00, next due May 10. On April 20 the billing day becomes
the 20th → next due May 20; the 10 days May 10 → May 20 are added: 50.00 * 10 / 31 =
16.13, so May 20 charges 66.13 and June 20 charges 50.00. Asked on April 20 for the 5th
instead → May 5, 5 days earlier: 50.00 * 5 / 30 = 8.33 credited, May 5 charges 41.67.*

`subscription.billing_day_changed` records the old and new due dates and the adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorKind
from core.errors import Conflict, DomainError
from subscriptions import billing, transitions
from subscriptions.gateways.stripe import ZERO_DECIMAL_CURRENCIES
from subscriptions.models import Status, Subscription
from subscriptions.policies import product_policy
from subscriptions.services import subscription_locked, transition_record

FIRST_DAY, LAST_DAY = 1, 28


@dataclass(frozen=True)
class BillingDayChange:
    """What moving the billing day does: the new next due date, the anchor kept on or
    before today, the days moved (positive later, negative earlier) and the signed
    adjustment of the charge on `next_charge_date`."""

    next_charge_date: date
    anchor: date
    days: int
    adjustment: Decimal


def _months(period: str) -> int:
    try:
        return billing.MONTHS_PER_PERIOD[period]
    except KeyError:
        message = "A weekly plan renews on its weekday; its billing day cannot be chosen."
        raise DomainError(message, code="weekly", details={"day": [message]}) from None


def _round(amount: Decimal, currency: str) -> Decimal:
    unit = Decimal(1) if currency.upper() in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return amount.quantize(unit, rounding=ROUND_HALF_UP)


def billing_day_change(
    *,
    next_due: date,
    day: int,
    today: date,
    period: str,
    price: Decimal,
    currency: str,
) -> BillingDayChange:
    """The rule of the module, pure."""
    if not FIRST_DAY <= day <= LAST_DAY:
        message = f"Choose a day from {FIRST_DAY} to {LAST_DAY}."
        raise DomainError(message, code="invalid", details={"day": [message]})
    months = _months(period)
    new = next_due.replace(day=day)
    if new == next_due:
        raise Conflict("The subscription already renews on that day.", code="same_day")
    if new <= today:
        new = billing.add_months(new, 1)
    if new > next_due:
        days = (new - next_due).days
        length = (billing.add_months(next_due, months) - next_due).days
        adjustment = _round(price * days / length, currency)
    else:
        days = -(next_due - new).days
        length = (next_due - billing.add_months(next_due, -months)).days
        adjustment = -_round(price * -days / length, currency)
    anchor = new
    while anchor > today:
        anchor = billing.add_months(anchor, -months)
    return BillingDayChange(new, anchor, days, adjustment)


def changed_this_period(subscription: Subscription, today: date) -> bool:
    """Whether the billing day was changed less than one period ago (no second change)."""
    last = subscription.billing_day_changed_on
    if last is None:
        return False
    return today < billing.add_months(last, _months(subscription.plan.period))


def subscription_billing_day_change(
    *, subscription: Subscription, actor: Actor, day: int
) -> BillingDayChange:
    """Move the billing day (see the module). Conflict unless ACTIVE with no pause
    waiting, for the day it already has, twice in a period, or for a subscriber where
    the product does not allow it; DomainError for a day outside 1-28 or a weekly plan."""
    with transaction.atomic():
        locked = subscription_locked(subscription)
        if locked.status != Status.ACTIVE or locked.next_charge_date is None:
            raise Conflict(
                "Only an active subscription can change its billing day; this one is "
                f"{locked.get_status_display()}.",
                code="not_active",
            )
        if locked.pause_starts_on is not None:
            raise Conflict(
                "A pause is waiting for the next due date; call it off first.",
                code="pause_waiting",
            )
        policy = product_policy(locked)
        allowed = policy is not None and policy.subscribers_can_change_billing_day
        if actor.kind is ActorKind.SUBSCRIBER and not allowed:
            raise Conflict(
                "Changing the billing day is not offered for this subscription.",
                code="not_offered",
            )
        today = billing.local_date(timezone.now(), locked.creator.tz)
        if changed_this_period(locked, today):
            raise Conflict(
                "The billing day can be changed once a period; it was changed on "
                f"{locked.billing_day_changed_on}.",
                code="once_per_period",
            )
        change = billing_day_change(
            next_due=locked.next_charge_date,
            day=day,
            today=today,
            period=locked.plan.period,
            price=locked.plan.price,
            currency=locked.plan.currency,
        )
        events = transitions.billing_day_changed(
            locked,
            anchor=change.anchor,
            next_charge_date=change.next_charge_date,
            adjustment=change.adjustment,
            on=today,
            data={"days": change.days, "currency": locked.plan.currency, "actor": actor.ref},
        )
        locked.save()
        transition_record(subscription=locked, events=events)
    return change
