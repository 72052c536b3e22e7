"""Coupons (SPEC §4.7): a code a creator hands out for a discount.

A coupon takes a **percent** off (1-100) or an **amount** off (in one currency, never
below zero), for **one** charge, **N periods** or **forever**, optionally at most
`max_redemptions` times, until `expires_at`, and only for some plans (none listed: every
plan). It applies
- **at the sale** (`POST /subscriptions` `coupon`): from the first period charged (the
  first charge, or the first after a free trial);
- **at a plan switch** (`POST /subscriptions/{id}/change-plan` `coupon`): from the next
  renewal (an upgrade's prorated charge is not discounted);
- **offered on cancel** (the product's retention offer "a discount instead"): from the
  next renewal.

Applying checks the coupon for the plan the subscription will pay (active, not expired,
not used up, the plan allowed, the currency of an amount-off coupon), counts one
redemption with one conditional UPDATE (two subscribers never take the last one), and
copies its terms onto the subscription, so the billing engine reads them without a query:
every due-date charge (first, renewal, retry) of a period starting on or after
`coupon_starts_on` and before `coupon_ends_on` (null: forever) is discounted by
`services.due_amount`; the charge records the coupon and the discount. One coupon per
subscription: a new one replaces the old.

*Example: WELCOME20, 20 % off for 3 periods, on a monthly plan at 50.00 sold on March 1
→ March 1, April 1 and May 1 charge 40.00 (discount 10.00), June 1 charges 50.00.*
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Creator
from core.errors import DomainError
from subscriptions import billing
from subscriptions.gateways.stripe import ZERO_DECIMAL_CURRENCIES
from subscriptions.models import Coupon, Plan, Subscription

# The subscription's columns a coupon sets.
COUPON_FIELDS = (
    "coupon",
    "coupon_percent_off",
    "coupon_amount_off",
    "coupon_starts_on",
    "coupon_ends_on",
)


def _invalid(message: str, code: str) -> DomainError:
    return DomainError(message, code=code, details={"coupon": [message]})


def _term(field: str, message: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code=code, details={field: [message]})


def coupon_find(*, creator: Creator, code: str) -> Coupon:
    """The creator's coupon with this code (case-insensitive); DomainError otherwise."""
    coupon = Coupon.objects.filter(creator=creator, code=code.strip().upper()).first()
    if coupon is None:
        raise _invalid("No coupon with this code.", "unknown_coupon")
    return coupon


def coupon_check(coupon: Coupon, *, plan: Plan, now: datetime) -> None:
    """DomainError unless `coupon` may be applied to a subscription paying `plan` now."""
    if not coupon.is_active:
        raise _invalid("This coupon is no longer valid.", "coupon_inactive")
    if coupon.expires_at is not None and coupon.expires_at <= now:
        raise _invalid("This coupon has expired.", "coupon_expired")
    if coupon.max_redemptions is not None and coupon.redemptions >= coupon.max_redemptions:
        raise _invalid("This coupon has been used up.", "coupon_used_up")
    if coupon.kind == Coupon.Kind.AMOUNT and coupon.currency != plan.currency:
        raise _invalid(
            f"This coupon takes {coupon.currency} off; the plan is in {plan.currency}.",
            "coupon_currency",
        )
    allowed = list(coupon.plans.values_list("pk", flat=True))
    if allowed and plan.pk not in allowed:
        raise _invalid("This coupon is not valid for this plan.", "coupon_plan")


def discount(
    *, price: Decimal, currency: str, percent_off: Decimal | None, amount_off: Decimal | None
) -> Decimal:
    """The discount on `price`: a percent rounded half up to the currency's unit, or the
    amount; never more than the price."""
    if percent_off is not None:
        unit = Decimal(1) if currency.upper() in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
        off = (price * percent_off / 100).quantize(unit, rounding=ROUND_HALF_UP)
    else:
        off = amount_off or Decimal(0)
    return min(max(off, Decimal(0)), price)


def coupon_applies(subscription: Subscription, period_start: date) -> bool:
    if subscription.coupon_id is None or subscription.coupon_starts_on is None:
        return False
    if period_start < subscription.coupon_starts_on:
        return False
    return subscription.coupon_ends_on is None or period_start < subscription.coupon_ends_on


def coupon_apply(
    subscription: Subscription, coupon: Coupon, *, plan: Plan, from_period: date
) -> None:
    """Check, count one redemption and copy the terms onto `subscription` (unsaved), for
    periods from `from_period` (see the module). The caller saves, in its transaction."""
    coupon_check(coupon, plan=plan, now=timezone.now())
    taken = (
        Coupon.objects.filter(creator_id=coupon.creator_id, pk=coupon.pk)
        .filter(Q(max_redemptions__isnull=True) | Q(redemptions__lt=F("max_redemptions")))
        .update(redemptions=F("redemptions") + 1)
    )
    if not taken:
        raise _invalid("This coupon has been used up.", "coupon_used_up")
    periods = {
        Coupon.Duration.ONCE: 1,
        Coupon.Duration.REPEATING: coupon.duration_periods or 1,
    }.get(Coupon.Duration(coupon.duration))
    subscription.coupon = coupon
    subscription.coupon_percent_off = coupon.percent_off if coupon.kind == "percent" else None
    subscription.coupon_amount_off = coupon.amount_off if coupon.kind == "amount" else None
    subscription.coupon_starts_on = from_period
    subscription.coupon_ends_on = (
        billing.due_date(from_period, plan.period, periods) if periods is not None else None
    )


def coupon_create(
    *,
    creator: Creator,
    code: str,
    kind: str,
    value: Decimal,
    currency: str = "",
    duration: str,
    duration_periods: int | None = None,
    max_redemptions: int | None = None,
    expires_at: datetime | None = None,
    plans: list[Plan] | None = None,
) -> Coupon:
    """A new coupon; DomainError for a code in use or terms that do not hold together."""
    code = code.strip().upper()
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        raise _term("code", "Use letters, digits, - and _ for the code.")
    if Coupon.objects.filter(creator=creator, code=code).exists():
        raise _term("code", "A coupon with this code exists.", code="duplicate")
    if kind == Coupon.Kind.PERCENT and not Decimal(0) < value <= Decimal(100):
        raise _term("value", "A percent off is from 0.01 to 100.")
    if kind == Coupon.Kind.AMOUNT and value <= 0:
        raise _term("value", "An amount off is more than zero.")
    if kind == Coupon.Kind.AMOUNT and len(currency) != 3:
        raise _term("currency", "Say the currency of the amount off, e.g. BRL.")
    if duration == Coupon.Duration.REPEATING and not (duration_periods and duration_periods > 0):
        raise _term("duration_periods", "Say for how many periods.")
    if any(p.creator_id != creator.pk for p in plans or []):
        raise _term("plans", "Unknown plan.")
    coupon = Coupon.objects.create(
        creator=creator,
        code=code,
        kind=kind,
        percent_off=value if kind == Coupon.Kind.PERCENT else None,
        amount_off=value if kind == Coupon.Kind.AMOUNT else None,
        currency=currency.upper() if kind == Coupon.Kind.AMOUNT else "",
        duration=duration,
        duration_periods=duration_periods if duration == Coupon.Duration.REPEATING else None,
        max_redemptions=max_redemptions,
        expires_at=expires_at,
    )
    if plans:
        coupon.plans.set(plans)
    return coupon


def coupon_deactivate(*, coupon: Coupon) -> Coupon:
    """No new redemptions; subscriptions that have it keep their discount."""
    coupon.is_active = False
    coupon.save(update_fields=["is_active"])
    return coupon
