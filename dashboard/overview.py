"""The overview page is a list of sections, each a template and a function that builds
its context. Apps may add one with `register_overview_section`.

Freshness: the two sections that aggregate every subscription of the creator (counts by
status, cancellations per week with its chart) are computed at most once a minute per
creator and language (OVERVIEW_CACHE_SECONDS) and served from the cache in between; on a
creator with 200,000 subscriptions they cost ~100 ms of SQL and ~30 ms of chart drawing
per view. The other sections are read live. With the cache unreachable, everything is
computed on every view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from django.core.cache import cache
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Creator
from dashboard.charts import babel_locale
from dashboard.metrics import activity_figures, cancellation_reasons, money_figures
from dashboard.selectors import cancellations_per_week, subscription_counts_by_status
from dashboard.svg import Series, bar_chart, horizontal_bars
from subscriptions.models import CancellationSource

logger = logging.getLogger(__name__)

OVERVIEW_CACHE_SECONDS = 60


@dataclass(frozen=True)
class OverviewSection:
    name: str
    template: str
    context: Callable[[Creator], dict[str, Any]]


def cached_for_a_minute(
    name: str, build: Callable[[Creator], dict[str, Any]]
) -> Callable[[Creator], dict[str, Any]]:
    """`build`, its result kept OVERVIEW_CACHE_SECONDS per creator and language (labels
    and the chart are translated). Keyed by the creator's UUID, never reused."""

    def context(creator: Creator) -> dict[str, Any]:
        key = f"dashboard:overview:{name}:{creator.uuid}:{get_language() or ''}"
        try:
            kept = cache.get(key)
        except Exception:  # the cache is an accelerator; the page works without it
            logger.warning("cache unreachable; overview section %s computed live", name)
            return build(creator)
        if kept is not None:
            return dict(kept)
        value = build(creator)
        try:
            cache.set(key, value, OVERVIEW_CACHE_SECONDS)
        except Exception:
            logger.warning("cache unreachable; overview section %s not kept", name)
        return value

    return context


def _status_counts(creator: Creator) -> dict[str, Any]:
    counts = subscription_counts_by_status(creator=creator)
    return {"status_counts": counts, "total": sum(c.count for c in counts)}


status_counts_context = cached_for_a_minute("status", _status_counts)


def _cancellations(creator: Creator) -> dict[str, Any]:
    data = cancellations_per_week(creator=creator)
    rows = [
        {"week": week, "counts": [data.by_source[source][i] for source in CancellationSource]}
        for i, week in enumerate(data.weeks)
    ]
    sources = [str(label) for _value, label in CancellationSource.choices]
    locale = babel_locale()
    chart = bar_chart(
        chart_id="chart-cancellations",
        title=_("Cancellations per week by source"),
        desc=_("Stacked bars, one per week of the last %(n)s weeks, by who cancelled.")
        % {"n": len(data.weeks)},
        labels=[format_date(week.date(), "d MMM", locale=locale) for week in data.weeks],
        series=[
            Series(str(label), data.by_source[source])
            for source, label in CancellationSource.choices
        ],
        value_label=lambda v: format_decimal(v, locale=locale),
    )
    reasons = cancellation_reasons(creator=creator)
    reason_rows = [(reason or _("No reason given"), n) for reason, n in reasons.rows]
    if reasons.other:
        reason_rows.append((_("Other reasons"), reasons.other))
    total = sum(n for _reason, n in reason_rows)
    reasons_chart = horizontal_bars(
        chart_id="chart-reasons",
        title=_("Cancellations by reason, last %(days)s days") % {"days": reasons.days},
        desc=_("One bar per reason, the most frequent first.")
        if reason_rows
        else _("No cancellation in this period."),
        rows=[
            (
                reason,
                n,
                f"{format_decimal(n, locale=locale)} · "
                f"{format_percent(n / total, format='#,##0%', locale=locale)}",
            )
            for reason, n in reason_rows
        ],
    )
    return {
        "chart": chart,
        "sources": sources,
        "rows": rows,
        "reasons_chart": reasons_chart,
        "reasons": reason_rows,
        "reasons_days": reasons.days,
        "reasons_total": total,
    }


cancellations_context = cached_for_a_minute("cancellations", _cancellations)


def _money(creator: Creator) -> dict[str, Any]:
    return {"money": money_figures(creator=creator)}


money_context = cached_for_a_minute("money", _money)


def _activity(creator: Creator) -> dict[str, Any]:
    data = activity_figures(creator=creator)
    locale = babel_locale()
    months = [
        format_date(end - timedelta(seconds=1), "MMM", locale=locale) for end in data.month_ends
    ]
    chart = bar_chart(
        chart_id="chart-active",
        title=_("Active subscriptions at the end of each month"),
        desc=_("One bar per month of the last %(n)s months; the last bar is today.")
        % {"n": len(months)},
        labels=months,
        series=[Series(_("Active subscriptions"), data.active)],
        value_label=lambda v: format_decimal(v, locale=locale),
    )
    rows = [
        {"month": end - timedelta(seconds=1), "active": n}
        for end, n in zip(data.month_ends, data.active, strict=True)
    ]
    return {"activity": data, "chart": chart, "rows": rows}


activity_context = cached_for_a_minute("activity", _activity)


def segmentation_context(creator: Creator) -> dict[str, Any]:
    """Deliveries of the last 7 days by outcome (test sends excluded) and rules in error."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from segmentation.models import SegmentationDelivery, SegmentationRule

    since = timezone.now() - timedelta(days=7)
    counts = SegmentationDelivery.objects.filter(
        creator=creator, is_test=False, created_at__gte=since
    ).aggregate(
        **{
            status: Count("id", filter=Q(status=status))
            for status in SegmentationDelivery.Status.values
        }
    )
    failing = list(
        SegmentationRule.objects.filter(creator=creator, status=SegmentationRule.Health.ERROR)
        .order_by("name", "id")
        .values("uuid", "name", "last_error")[:5]
    )
    return {
        "succeeded": counts["succeeded"],
        "failed": counts["failed"] + counts["gave_up"],
        "in_progress": counts["pending"] + counts["sending"] + counts["retrying"],
        "failing_rules": failing,
    }


FUNNEL_DAYS = 30


def reactivation_funnel_context(creator: Creator) -> dict[str, Any]:
    """Requests of the last 30 days and what became of them (one aggregate query).
    Superseded requests (replaced by a resend) are left out, so a resent request counts once."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from reactivation.models import ReactivationRequest

    S = ReactivationRequest.Status
    since = timezone.now() - timedelta(days=FUNNEL_DAYS)
    counts = (
        ReactivationRequest.objects.filter(creator=creator, created_at__gte=since)
        .exclude(status=S.SUPERSEDED)
        .aggregate(
            requested=Count("id"),
            **{
                str(s): Count("id", filter=Q(status=s))
                for s in (S.ACCEPTED, S.REJECTED, S.EXPIRED, S.FAILED, S.PENDING)
            },
        )
    )
    requested = counts["requested"]
    labels = dict(S.choices)
    rows = [
        {
            "status": s,
            "label": labels[s],
            "count": counts[s],
            "rate": (counts[s] / requested) if requested else None,
        }
        for s in (S.ACCEPTED, S.REJECTED, S.EXPIRED, S.FAILED, S.PENDING)
    ]
    locale = babel_locale()
    chart = horizontal_bars(
        chart_id="chart-funnel",
        title=_("Reactivation requests of the last %(days)s days") % {"days": FUNNEL_DAYS},
        desc=_("The requests sent, then one bar per outcome with its share of the requests."),
        rows=[(str(_("Requested")), requested, format_decimal(requested, locale=locale))]
        + [
            (
                str(row["label"]),
                row["count"],
                f"{format_decimal(row['count'], locale=locale)}"
                + (
                    f" · {format_percent(row['rate'], format='#,##0%', locale=locale)}"
                    if row["rate"] is not None
                    else ""
                ),
            )
            for row in rows
        ],
    )
    return {"requested": requested, "rows": rows, "days": FUNNEL_DAYS, "chart": chart}


RETENTION_DAYS = 90


def retention_context(creator: Creator) -> dict[str, Any]:
    """Each retention offer of the last 90 days: how often it was shown (taken or
    declined) and kept the subscriber (subscriptions/retention.py). Two grouped queries."""
    from django.db.models import Count
    from django.utils import timezone

    from subscriptions.events import EventType
    from subscriptions.models import RecoveryPolicy, SubscriptionEvent

    since = timezone.now() - timedelta(days=RETENTION_DAYS)
    events = SubscriptionEvent.objects.filter(creator=creator, occurred_at__gte=since)
    taken = dict(
        events.filter(type=EventType.SUBSCRIPTION_RETAINED)
        .values_list("data__offer__kind")
        .annotate(n=Count("id"))
        .values_list("data__offer__kind", "n")
    )
    declined = dict(
        events.filter(type=EventType.SUBSCRIPTION_STATUS_CHANGED, data__has_key="retention_offer")
        .values_list("data__retention_offer")
        .annotate(n=Count("id"))
        .values_list("data__retention_offer", "n")
    )
    labels = dict(RecoveryPolicy.RetentionOffer.choices)
    rows = []
    for kind in sorted(set(taken) | set(declined), key=str):
        kept, offered = taken.get(kind, 0), taken.get(kind, 0) + declined.get(kind, 0)
        rows.append(
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "offered": offered,
                "kept": kept,
                "rate": kept / offered if offered else None,
            }
        )
    return {"rows": rows, "days": RETENTION_DAYS}


SECTIONS: list[OverviewSection] = [
    OverviewSection("money", "dashboard/overview/_money.html", money_context),
    OverviewSection("activity", "dashboard/overview/_activity.html", activity_context),
    OverviewSection("status", "dashboard/overview/_status_counts.html", status_counts_context),
    OverviewSection(
        "cancellations", "dashboard/overview/_cancellations.html", cancellations_context
    ),
    OverviewSection(
        "reactivation", "dashboard/overview/_reactivation.html", reactivation_funnel_context
    ),
    OverviewSection("retention", "dashboard/overview/_retention.html", retention_context),
    OverviewSection("segmentation", "dashboard/overview/_segmentation.html", segmentation_context),
]


def register_overview_section(section: OverviewSection) -> None:
    SECTIONS[:] = [s for s in SECTIONS if s.name != section.name] + [section]


def overview_sections(creator: Creator) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "template": s.template, "context": s.context(creator)} for s in SECTIONS
    ]
