"""The overview page is a list of sections, each a template and a function that builds
its context. The reactivation funnel and segmentation deliveries join as two more
sections once those apps exist (append to SECTIONS or call `register_overview_section`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Creator
from dashboard.charts import cancellations_chart
from dashboard.selectors import cancellations_per_week, subscription_counts_by_status
from subscriptions.models import CancellationSource


@dataclass(frozen=True)
class OverviewSection:
    name: str
    template: str
    context: Callable[[Creator], dict[str, Any]]


def status_counts_context(creator: Creator) -> dict[str, Any]:
    counts = subscription_counts_by_status(creator=creator)
    return {"status_counts": counts, "total": sum(c.count for c in counts)}


def cancellations_context(creator: Creator) -> dict[str, Any]:
    data = cancellations_per_week(creator=creator)
    rows = [
        {"week": week, "counts": [data.by_source[source][i] for source in CancellationSource]}
        for i, week in enumerate(data.weeks)
    ]
    return {
        "chart": cancellations_chart(data, title=_("Cancellations per week by source")),
        "sources": [label for _value, label in CancellationSource.choices],
        "rows": rows,
    }


SECTIONS: list[OverviewSection] = [
    OverviewSection("status", "dashboard/overview/_status_counts.html", status_counts_context),
    OverviewSection(
        "cancellations", "dashboard/overview/_cancellations.html", cancellations_context
    ),
]


def register_overview_section(section: OverviewSection) -> None:
    SECTIONS[:] = [s for s in SECTIONS if s.name != section.name] + [section]


def overview_sections(creator: Creator) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "template": s.template, "context": s.context(creator)} for s in SECTIONS
    ]
