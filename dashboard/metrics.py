"""The overview's business figures (definitions in docs/dashboard.md, "Overview").

Each function is one aggregate query over the creator's rows, whatever their number;
the overview keeps their results a minute (dashboard/overview.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import Creator
from subscriptions.models import Charge, Period, Status, Subscription

# A plan's price per month: weekly plans bill 52 times a year.
MONTHS_PER_PERIOD: dict[str, Decimal] = {
    Period.WEEKLY: Decimal(12) / Decimal(52),
    Period.MONTHLY: Decimal(1),
    Period.BIMONTHLY: Decimal(2),
    Period.QUARTERLY: Decimal(3),
    Period.SEMIANNUAL: Decimal(6),
    Period.YEARLY: Decimal(12),
}
# Still billed: a late payment is being retried, the subscription has not ended.
BILLING_STATUSES = (Status.ACTIVE, Status.DELAYED)
# Never active: their first charge was not (yet) paid.
NEVER_ACTIVE = (Status.STARTED, Status.INACTIVE)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Money:
    mrr: Decimal
    billing_subscriptions: int
    other_currency_subscriptions: int
    revenue_this_month: Decimal
    charges_this_month: int
    currency: str
    month_start: datetime


def money_figures(*, creator: Creator, now: datetime | None = None) -> Money:
    """MRR of the subscriptions still billed, in the creator's currency, and the charges
    paid since the first day of the local month (refunded and charged-back ones are left
    out: their status changed). Plans in another currency are counted apart, never
    converted."""
    local_now = timezone.localtime(now or timezone.now(), creator.tz)
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    groups = (
        Subscription.objects.filter(creator=creator, status__in=BILLING_STATUSES)
        .order_by()
        .values_list("plan__period", "plan__currency")
        .annotate(total=Sum("plan__price"), n=Count("id"))
    )
    mrr = Decimal(0)
    billing = other = 0
    for period, currency, total, n in groups:
        if currency != creator.currency:
            other += n
            continue
        billing += n
        mrr += Decimal(total) / MONTHS_PER_PERIOD[period]
    revenue = Charge.objects.filter(
        creator=creator,
        status=Charge.Status.SUCCEEDED,
        currency=creator.currency,
        created_at__gte=month_start,
    ).aggregate(total=Sum("amount"), n=Count("id"))
    return Money(
        mrr=mrr.quantize(CENT, rounding=ROUND_HALF_UP),
        billing_subscriptions=billing,
        other_currency_subscriptions=other,
        revenue_this_month=(revenue["total"] or Decimal(0)).quantize(CENT),
        charges_this_month=revenue["n"],
        currency=creator.currency,
        month_start=month_start,
    )


@dataclass(frozen=True)
class Activity:
    month_ends: list[datetime]  # the end of each of the last 12 local months (the last: now)
    active: list[int]
    churn_window_days: int
    active_at_window_start: int
    cancelled_in_window: int

    @property
    def churn_rate(self) -> float | None:
        if not self.active_at_window_start:
            return None
        return self.cancelled_in_window / self.active_at_window_start


def _active_at(moment: datetime, creator: Creator) -> Q:
    """Had started, was not cancelled yet and had not ended (an ended subscription stops
    counting on its paid-through date, the end of its last paid period)."""
    return (
        Q(started_at__lte=moment)
        & (Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=moment))
        & ~Q(status=Status.OVERDUE, paid_through__lte=timezone.localdate(moment, creator.tz))
    )


def activity_figures(
    *, creator: Creator, months: int = 12, churn_days: int = 30, now: datetime | None = None
) -> Activity:
    """Active subscriptions at the end of each of the last `months` local months (the
    current month: now) and the churn of the last `churn_days` days: of the
    subscriptions active at the window's start, the share cancelled within it. One
    aggregate query."""
    now = now or timezone.now()
    local_now = timezone.localtime(now, creator.tz)
    ends: list[datetime] = [now]
    first = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        ends.insert(0, first)
        first = (first - timedelta(days=1)).replace(day=1)
    window_start = now - timedelta(days=churn_days)
    aggregates = {
        f"m{i}": Count("id", filter=_active_at(moment, creator)) for i, moment in enumerate(ends)
    }
    figures = (
        Subscription.objects.filter(creator=creator)
        .exclude(status__in=NEVER_ACTIVE)
        .aggregate(
            **aggregates,
            window_start=Count("id", filter=_active_at(window_start, creator)),
            # Of those active at the window's start: a subscription that started and
            # cancelled inside the window is in neither number.
            cancelled=Count(
                "id",
                filter=_active_at(window_start, creator)
                & Q(cancelled_at__gt=window_start, cancelled_at__lte=now),
            ),
        )
    )
    return Activity(
        month_ends=ends,
        active=[figures[f"m{i}"] for i in range(len(ends))],
        churn_window_days=churn_days,
        active_at_window_start=figures["window_start"],
        cancelled_in_window=figures["cancelled"],
    )


@dataclass(frozen=True)
class Reasons:
    days: int
    rows: list[tuple[str, int]]  # (reason, count), most frequent first; "" = none given
    other: int  # cancellations with a rarer reason


def cancellation_reasons(
    *, creator: Creator, days: int = 90, top: int = 6, now: datetime | None = None
) -> Reasons:
    """Cancellations of the last `days` days by reason (the text stored with the
    cancellation), the `top` most frequent and the rest together."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = list(
        Subscription.objects.filter(creator=creator, cancelled_at__gte=since)
        .order_by()
        .values_list("cancellation_reason")
        .annotate(n=Count("id"))
        .order_by("-n", "cancellation_reason")
    )
    return Reasons(
        days=days,
        rows=[(reason or "", n) for reason, n in rows[:top]],
        other=sum(n for _reason, n in rows[top:]),
    )
