"""What the dashboard's Recovery page shows (SPEC §4.6): how much is late now, how much
came back, and at which attempt. Read-only selectors on charges; amounts always per
currency, never added across currencies.

Definitions (also on the page and in docs/recovery.md):

- A **failed payment** is a declined renewal: one per subscription and unpaid period
  (`Charge` kind `renewal`, status `declined`).
- It is **recovered** when a later charge for the same period succeeded: an automatic
  retry (counted by its attempt number, 1 = the first retry) or the subscriber's payment
  on the payment page (`/pay/<token>/`, counted apart).
- It is **still late** while the subscription is "Payment late" (DELAYED) for that very
  period, and **lost** otherwise (cancelled for non-payment, left unpaid, or cancelled by
  someone while late).
- **Recovery rate** = recovered ÷ failed payments of the same window. A window's rate
  still moves while some of its payments are late.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from accounts.models import Creator
from recovery.models import PaymentLink
from subscriptions import billing
from subscriptions.models import Charge, Status, Subscription
from subscriptions.overdue import is_payment_page_charge, unpaid_period_start

WINDOW_DAYS = 90
PAGE = "page"  # the outcome key of a payment-page recovery


@dataclass
class Outcomes:
    """Failed payments of one window and what became of them."""

    failed: int = 0
    recovered: int = 0
    late: int = 0
    lost: int = 0
    # Recovered at automatic retry n (1, 2, …) or PAGE.
    by_attempt: Counter[int | str] = field(default_factory=Counter)
    recovered_amount: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def amounts(self) -> list[tuple[str, Decimal]]:
        """Recovered amounts as (currency, amount), for templates (no dict lookups)."""
        return sorted(self.recovered_amount.items())

    @property
    def rate(self) -> float | None:
        return self.recovered / self.failed if self.failed else None


@dataclass(frozen=True)
class RecoveryFigures:
    overdue_count: int
    # (currency, amount) in currency order: one unpaid period per late subscription.
    overdue_amount: list[tuple[str, Decimal]]
    month: Outcomes  # failed payments this calendar month (creator's time zone)
    window: Outcomes  # failed payments in the last WINDOW_DAYS days
    month_start: date
    window_start: date


def _local_midnight(day: date, creator: Creator) -> datetime:
    return datetime.combine(day, time.min, tzinfo=creator.tz)


def recovery_figures(*, creator: Creator, now: datetime | None = None) -> RecoveryFigures:
    """Three queries: the late subscriptions now (grouped in SQL), the failed payments of
    the window, and the successful retries for their periods."""
    now = now or timezone.now()
    today = billing.local_date(now, creator.tz)
    month_start = today.replace(day=1)
    window_start = min(today - timedelta(days=WINDOW_DAYS), month_start)

    overdue = (
        Subscription.objects.filter(creator=creator, status=Status.DELAYED)
        .values("plan__currency")
        .annotate(n=Count("id"), amount=Sum("plan__price"))
        .order_by("plan__currency")
    )
    overdue_amount = [(row["plan__currency"], row["amount"] or Decimal(0)) for row in overdue]

    failed = list(
        Charge.objects.filter(
            creator=creator,
            kind=Charge.Kind.RENEWAL,
            status=Charge.Status.DECLINED,
            created_at__gte=_local_midnight(window_start, creator),
        ).values_list("subscription_id", "period_start", "created_at")
    )
    subscription_ids = {row[0] for row in failed}
    paid: dict[tuple[int, date], Charge] = {}
    for charge in Charge.objects.filter(
        creator=creator,
        subscription_id__in=subscription_ids,
        kind=Charge.Kind.RETRY,
        status=Charge.Status.SUCCEEDED,
        period_start__gte=window_start - timedelta(days=31),
    ).only("subscription_id", "period_start", "attempt", "idempotency_key", "amount", "currency"):
        paid[(charge.subscription_id, charge.period_start)] = charge
    late_now = _late_periods(creator, subscription_ids)

    month, window = Outcomes(), Outcomes()
    for subscription_id, period_start, created_at in failed:
        local_day = billing.local_date(created_at, creator.tz)
        windows = [window] + ([month] if local_day >= month_start else [])
        charge = paid.get((subscription_id, period_start))
        for outcomes in windows:
            outcomes.failed += 1
            if charge is not None:
                outcomes.recovered += 1
                how: int | str = PAGE if is_payment_page_charge(charge) else max(charge.attempt, 1)
                outcomes.by_attempt[how] += 1
                outcomes.recovered_amount[charge.currency] += charge.amount
            elif (subscription_id, period_start) in late_now:
                outcomes.late += 1
            else:
                outcomes.lost += 1
    return RecoveryFigures(
        overdue_count=sum(row["n"] for row in overdue),
        overdue_amount=overdue_amount,
        month=month,
        window=window,
        month_start=month_start,
        window_start=window_start,
    )


def _late_periods(creator: Creator, subscription_ids: set[int]) -> set[tuple[int, date]]:
    """(subscription, unpaid period) of every subscription late right now."""
    late = Subscription.objects.filter(
        creator=creator, status=Status.DELAYED, pk__in=subscription_ids
    ).select_related("plan")
    found = set()
    for subscription in late:
        start = unpaid_period_start(subscription)
        if start is not None:
            found.add((subscription.pk, start))
    return found


def overdue_subscriptions(*, creator: Creator) -> QuerySet[Subscription]:
    """The late subscriptions for the page's table, each with when its latest payment
    link was emailed (`link_emailed_at`, None when none was), in one query per page."""
    latest_link = PaymentLink.objects.filter(
        creator=creator, subscription=OuterRef("pk"), purpose=PaymentLink.Purpose.OVERDUE
    ).order_by("-created_at")
    return (
        Subscription.objects.filter(creator=creator, status=Status.DELAYED)
        .select_related("plan__product", "subscriber")
        .annotate(link_emailed_at=Subquery(latest_link.values("emailed_at")[:1]))
    )
