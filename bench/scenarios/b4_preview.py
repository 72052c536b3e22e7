"""B4: the rule builder's "N current subscriptions match" for 5 rules over the largest
creator of the million-row data set, against hand-written SQL `COUNT(*)` with the
equivalent WHERE. Both must count the same rows."""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.db import connection
from django.utils import timezone

from bench.data import large_dataset
from bench.harness import Result, Scenario
from segmentation.compiler import RuleSpec, subscriptions_matching
from segmentation.facts import local_day

REPEATS = 3

# (rule, hand-written WHERE on s = subscription, p = plan, u = subscriber)
RULES: list[tuple[dict[str, Any], str]] = [
    (
        {
            "triggers": ["ACTIVE"],
            "conditions": [{"field": "period", "op": "eq", "value": "monthly"}],
        },
        "s.status = 'ACTIVE' AND p.period = 'monthly'",
    ),
    (
        {
            "triggers": ["CANCELLED_BY_CUSTOMER"],
            "conditions": [
                {"field": "cancellation_reason", "op": "contains", "value": "expensive"}
            ],
        },
        "s.status = 'CANCELLED_BY_CUSTOMER' AND lower(s.cancellation_reason) LIKE '%%expensive%%'",
    ),
    (
        {
            "triggers": ["ACTIVE", "DELAYED"],
            "conditions": [
                {"field": "recurrence", "op": "gte", "value": 12},
                {"field": "price", "op": "lt", "value": "100"},
            ],
        },
        "s.status IN ('ACTIVE', 'DELAYED') AND s.recurrence >= 12 AND p.price < 100",
    ),
    (
        {
            "triggers": ["ACTIVE"],
            "conditions": [{"field": "subscriber.email", "op": "starts_with", "value": "user1"}],
        },
        "s.status = 'ACTIVE' AND lower(u.email) LIKE 'user1%%'",
    ),
    (
        {
            "triggers": ["ACTIVE"],
            "match": "any",
            "conditions": [
                {"field": "days_since_start", "op": "gt", "value": 365},
                {"field": "period", "op": "eq", "value": "weekly"},
            ],
        },
        "s.status = 'ACTIVE' AND ((%(today)s::date - (s.started_at AT TIME ZONE %(tz)s)::date) "
        "> 365 OR p.period = 'weekly')",
    ),
]


def _median_seconds(fn: Any) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def run(scale: float) -> Result:
    tenants = large_dataset(scale)
    creator = tenants[0].creator
    tz = creator.tz
    today = local_day(timezone.now(), tz)
    rows: list[dict[str, Any]] = []
    ours_total = theirs_total = 0.0
    agree = True
    for rule, where in RULES:
        spec = RuleSpec(
            triggers=tuple(rule["triggers"]),
            match=rule.get("match", "all"),
            conditions=tuple(rule["conditions"]),
        )

        def ours(spec: RuleSpec = spec) -> int:
            return subscriptions_matching(
                creator_id=creator.pk, tz=tz, spec=spec, today=today
            ).count()

        def theirs(where: str = where) -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM subscriptions_subscription s "
                    "JOIN subscriptions_plan p ON p.id = s.plan_id "
                    "JOIN subscriptions_subscriber u ON u.id = s.subscriber_id "
                    f"WHERE s.creator_id = %(creator)s AND {where}",
                    {"creator": creator.pk, "today": today, "tz": creator.time_zone},
                )
                return int(cursor.fetchone()[0])

        ours(), theirs()  # warm the cache for both alike
        ours_s, ours_n = _median_seconds(ours)
        theirs_s, theirs_n = _median_seconds(theirs)
        agree = agree and ours_n == theirs_n
        ours_total += ours_s
        theirs_total += theirs_s
        rows.append(
            {
                "conditions": rule["conditions"],
                "matches": ours_n,
                "baseline_matches": theirs_n,
                "ms": round(ours_s * 1000, 1),
                "baseline_ms": round(theirs_s * 1000, 1),
            }
        )
    creator_rows = creator.subscriptions.count()
    return Result(
        id="B4",
        title=f"Segment preview, 5 rules, creator with {creator_rows:,} of "
        f"{int(1_000_000 * scale):,} subscriptions",
        metric="ms (5 previews)",
        value=round(ours_total * 1000, 1),
        baseline_value=round(theirs_total * 1000, 1),
        target="≤ 1.5 × baseline",
        better="lower",
        target_ratio=1.5,
        details={
            "rules": rows,
            "repeats": REPEATS,
            "statistic": "median per rule, summed",
            "baseline": "hand-written SELECT COUNT(*) with the equivalent WHERE",
        },
        extra_checks={"same_counts": agree},
    )


SCENARIO = Scenario("B4", "Segment preview counts", run)
