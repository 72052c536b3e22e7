"""Reads of segmentation: the rule list with its delivery figures, the delivery log, and
the builder's preview counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import Creator
from segmentation.compiler import RuleSpec, events_matching, subscriptions_matching
from segmentation.facts import local_day
from segmentation.models import SegmentationDelivery, SegmentationRule

OUTCOMES = [s.value for s in SegmentationDelivery.Status]
PREVIEW_EVENT_WINDOW = timedelta(days=30)


def rules_with_figures(
    queryset: QuerySet[SegmentationRule] | None = None, *, now: datetime | None = None
) -> QuerySet[SegmentationRule]:
    """Rules annotated with `last_delivery_at` and `n_<status>` (deliveries of real events
    in the last 7 days by outcome): one query for any number of rules."""
    since = (now or timezone.now()) - timedelta(days=7)
    recent = Q(deliveries__created_at__gte=since, deliveries__is_test=False)
    counts = {
        f"n_{status}": Count("deliveries", filter=recent & Q(deliveries__status=status))
        for status in OUTCOMES
    }
    base = queryset if queryset is not None else SegmentationRule.objects.all()
    return base.select_related("product").annotate(
        last_delivery_at=Max("deliveries__created_at", filter=Q(deliveries__is_test=False)),
        **counts,
    )


def rule_figures(rule: SegmentationRule) -> dict[str, int]:
    return {status: getattr(rule, f"n_{status}", 0) for status in OUTCOMES}


def deliveries_of_rule(rule: SegmentationRule) -> QuerySet[SegmentationDelivery]:
    return SegmentationDelivery.objects.filter(rule=rule).select_related("event")


def rule_preview(
    *, creator: Creator, spec: RuleSpec, now: datetime | None = None
) -> dict[str, Any]:
    """The builder's two numbers: current subscriptions in the segment and events of the
    last 30 days that would have triggered the rule (see docs/segmentation.md)."""
    now = now or timezone.now()
    tz = creator.tz
    matching = subscriptions_matching(
        creator_id=creator.pk, tz=tz, spec=spec, today=local_day(now, tz)
    ).count()
    events = events_matching(
        creator_id=creator.pk, tz=tz, spec=spec, since=now - PREVIEW_EVENT_WINDOW, until=now
    ).count()
    return {"matching_subscriptions": matching, "events_last_30_days": events}
