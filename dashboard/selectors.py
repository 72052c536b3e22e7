"""Reads for the dashboard pages. Every function takes the creator: nothing here can
return another tenant's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.models import ApiKey, Creator, Membership
from dashboard.pagination import SortKey, parse_date_value, parse_datetime_value
from subscriptions.models import (
    CancellationSource,
    Charge,
    Plan,
    Product,
    Status,
    Subscription,
    SubscriptionEvent,
)

# --- subscriptions table --------------------------------------------------------------

SORTS: dict[str, SortKey] = {
    "-created": SortKey("created_at", descending=True, parse=parse_datetime_value),
    "created": SortKey("created_at", descending=False, parse=parse_datetime_value),
    "next_charge": SortKey(
        "next_charge_date", descending=False, nullable=True, parse=parse_date_value
    ),
    "-next_charge": SortKey(
        "next_charge_date", descending=True, nullable=True, parse=parse_date_value
    ),
    "paid_through": SortKey(
        "paid_through", descending=False, nullable=True, parse=parse_date_value
    ),
    "-paid_through": SortKey(
        "paid_through", descending=True, nullable=True, parse=parse_date_value
    ),
    "email": SortKey("subscriber__email", descending=False),
    "-email": SortKey("subscriber__email", descending=True),
}
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class SubscriptionFilters:
    """The table's filters, already validated (see `SubscriptionFilterForm`)."""

    statuses: tuple[str, ...] = ()
    product: Product | None = None
    plan: Plan | None = None
    cancellation_source: str = ""
    email: str = ""

    def as_query(self) -> dict[str, Any]:
        """The GET parameters that reproduce these filters (for links and bulk forms)."""
        query: dict[str, Any] = {}
        if self.statuses:
            query["status"] = list(self.statuses)
        if self.product is not None:
            query["product"] = str(self.product.uuid)
        if self.plan is not None:
            query["plan"] = str(self.plan.uuid)
        if self.cancellation_source:
            query["cancellation_source"] = self.cancellation_source
        if self.email:
            query["email"] = self.email
        return query


def subscriptions_filtered(
    *, creator: Creator, filters: SubscriptionFilters
) -> QuerySet[Subscription]:
    queryset = Subscription.objects.filter(creator=creator)
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.product is not None:
        queryset = queryset.filter(plan__product=filters.product)
    if filters.plan is not None:
        queryset = queryset.filter(plan=filters.plan)
    if filters.cancellation_source:
        queryset = queryset.filter(cancellation_source=filters.cancellation_source)
    if filters.email:
        queryset = queryset.filter(subscriber__email__icontains=filters.email)
    return queryset


def subscriptions_for_table(
    *, creator: Creator, filters: SubscriptionFilters
) -> QuerySet[Subscription]:
    """One query per page: subscriber, plan and product come joined."""
    return subscriptions_filtered(creator=creator, filters=filters).select_related(
        "subscriber", "plan", "plan__product"
    )


def products_for_filter(*, creator: Creator) -> QuerySet[Product]:
    return Product.objects.filter(creator=creator).order_by("name", "id")


def plans_for_filter(*, creator: Creator) -> QuerySet[Plan]:
    return Plan.objects.filter(creator=creator).select_related("product")


# --- subscription detail -------------------------------------------------------------


def subscription_events(*, subscription: Subscription) -> QuerySet[SubscriptionEvent]:
    return SubscriptionEvent.objects.filter(
        creator_id=subscription.creator_id, subscription=subscription
    ).order_by("-occurred_at", "-id")


def subscription_charges(*, subscription: Subscription) -> QuerySet[Charge]:
    return (
        Charge.objects.filter(creator_id=subscription.creator_id, subscription=subscription)
        .select_related("coupon")
        .order_by("-created_at", "-id")
    )


# --- overview ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


def subscription_counts_by_status(*, creator: Creator) -> list[StatusCount]:
    """Every status, zero included, in the order of the status list."""
    counts = dict(
        Subscription.objects.filter(creator=creator)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return [
        StatusCount(status=value, label=str(label), count=counts.get(value, 0))
        for value, label in Status.choices
    ]


@dataclass(frozen=True)
class WeeklyCancellations:
    weeks: list[datetime]  # Monday 00:00 in the creator's time zone, oldest first
    by_source: dict[str, list[int]]  # CancellationSource value -> one count per week


def cancellations_per_week(
    *, creator: Creator, weeks: int = 12, now: datetime | None = None
) -> WeeklyCancellations:
    """Cancellations per local calendar week (Monday first) and source, the current
    week included, so a week's bar matches what the creator sees on a calendar."""
    tz = creator.tz
    local_now = (now or timezone.now()).astimezone(tz)
    this_monday = (local_now - timedelta(days=local_now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    starts = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    rows = (
        Subscription.objects.filter(creator=creator, cancelled_at__gte=starts[0])
        .exclude(cancellation_source="")
        .annotate(week=TruncWeek("cancelled_at", tzinfo=tz))
        .order_by()
        .values_list("week", "cancellation_source")
        .annotate(n=Count("id"))
    )
    index = {start.date(): i for i, start in enumerate(starts)}
    by_source = {source: [0] * weeks for source in CancellationSource.values}
    for week, source, n in rows:
        i = index.get(week.astimezone(tz).date())
        if i is not None and source in by_source:
            by_source[source][i] = n
    return WeeklyCancellations(weeks=starts, by_source=by_source)


# --- team and API keys ---------------------------------------------------------------


def team_members(*, creator: Creator) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(creator=creator)
        .select_related("user")
        .order_by("user__email", "id")
    )


def api_keys_for_creator(*, creator: Creator) -> QuerySet[ApiKey]:
    """The creator's keys, each with `holder_role`: its holder's current role, or None
    when the holder is no longer a member (the key then works no more)."""
    holder_role = Membership.objects.filter(
        creator_id=OuterRef("creator_id"), user_id=OuterRef("created_by_id")
    ).values("role")[:1]
    return (
        ApiKey.objects.filter(creator=creator)
        .select_related("created_by")
        .annotate(holder_role=Subquery(holder_role))
        .order_by("revoked_at", "-created_at", "-id")
    )
