"""The condition model compiled to database queries (SPEC §8.2), for the rule builder:
"N current subscriptions match" and "M events in the last 30 days would have triggered it".

It must agree with the Python evaluator (`segmentation.conditions`, `segmentation.facts`)
row for row; `tests/segmentation/test_agreement.py` checks that with generated rules and
data. Everything is plain joins and column expressions (no per-row subquery), so the count
is one `SELECT COUNT(*)` over the subscription (or event) table joined to plan/subscriber.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    CharField,
    Expression,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncDate

from segmentation.conditions import (
    ASCII_LOWER_LETTERS,
    ASCII_UPPER_LETTERS,
    FIELDS,
    condition_holds,
    conditions_predicate,
    typed,
)
from segmentation.facts import (
    EVENT_TRIGGERS,
    REACTIVATION_EVENT_PREFIX,
    RETAINED,
    STATUS_CHANGED,
    STATUS_TRIGGERS,
)
from subscriptions.models import Subscription, SubscriptionEvent


@dataclass(frozen=True)
class RuleSpec:
    """The part of a rule that decides who matches (validated already)."""

    triggers: Sequence[str]
    match: str = "all"
    conditions: Sequence[dict[str, Any]] = ()
    product_id: int | None = None
    status_triggers: tuple[str, ...] = field(init=False)
    event_triggers: tuple[str, ...] = field(init=False)
    # The conditions compiled once per spec for the Python evaluator.
    predicate: Callable[[Mapping[str, Any]], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "status_triggers", tuple(t for t in self.triggers if t in STATUS_TRIGGERS)
        )
        object.__setattr__(
            self, "event_triggers", tuple(t for t in self.triggers if t in EVENT_TRIGGERS)
        )
        object.__setattr__(self, "predicate", conditions_predicate(self.conditions, self.match))


class AsciiFold(Func):
    """TRANSLATE(x, 'A..Z', 'a..z'): the ASCII case folding of `conditions.fold`."""

    function = "TRANSLATE"
    output_field = CharField()

    def __init__(self, expression: Any) -> None:
        self.source = expression
        super().__init__(
            Coalesce(expression, Value(""), output_field=CharField()),
            Value(ASCII_UPPER_LETTERS),
            Value(ASCII_LOWER_LETTERS),
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # SQLite has no TRANSLATE; its built-in LOWER() folds ASCII letters only, which is
        # exactly the same folding.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"LOWER({sql})", params


class DaysBetween(Func):
    """`later - earlier` for two SQL dates: whole days as an integer."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # SQLite stores dates as text: subtract their Julian day numbers instead.
        later, earlier = (compiler.compile(e) for e in self.get_source_expressions())
        sql = f"CAST(julianday({later[0]}) - julianday({earlier[0]}) AS INTEGER)"
        return sql, (*later[1], *earlier[1])


# A field is a column path, an expression (aliased), or a constant (event-only fields of
# a current subscription: decided at compile time).
_CONSTANT = object()


def _subscription_fields(tz: ZoneInfo, today: date, prefix: str = "") -> dict[str, Any]:
    p = prefix
    return {
        "plan": f"{p}plan__uuid",
        "price": f"{p}plan__price",
        "currency": f"{p}plan__currency",
        "period": f"{p}plan__period",
        "recurrence": f"{p}recurrence",
        "days_since_start": DaysBetween(Value(today), TruncDate(f"{p}started_at", tzinfo=tz)),
        "cancellation_reason": AsciiFold(F(f"{p}cancellation_reason")),
        "previous_status": _CONSTANT,
        "subscriber.email": AsciiFold(F(f"{p}subscriber__email")),
        "subscriber.locale": f"{p}subscriber__locale",
        "reactivation.mode": _CONSTANT,
        "retention.offer": _CONSTANT,
    }


def _event_fields(tz: ZoneInfo) -> dict[str, Any]:
    fields = _subscription_fields(tz, date.today(), prefix="subscription__")
    fields["days_since_start"] = DaysBetween(
        TruncDate("occurred_at", tzinfo=tz), TruncDate("subscription__started_at", tzinfo=tz)
    )
    fields["previous_status"] = Case(
        When(type=STATUS_CHANGED, then=Coalesce(KT("data__from"), Value(""))),
        default=Value(""),
        output_field=CharField(),
    )
    fields["reactivation.mode"] = Case(
        When(
            type__startswith=REACTIVATION_EVENT_PREFIX,
            then=Coalesce(KT("data__mode"), Value("")),
        ),
        default=Value(""),
        output_field=CharField(),
    )
    fields["retention.offer"] = Case(
        When(type=RETAINED, then=Coalesce(KT("data__offer__kind"), Value(""))),
        When(type=STATUS_CHANGED, then=Coalesce(KT("data__retention_offer"), Value(""))),
        default=Value(""),
        output_field=CharField(),
    )
    return fields


_LOOKUPS = {
    "eq": ("exact", False),
    "ne": ("exact", True),
    "in": ("in", False),
    "not_in": ("in", True),
    "gt": ("gt", False),
    "gte": ("gte", False),
    "lt": ("lt", False),
    "lte": ("lte", False),
    "contains": ("contains", False),
    "not_contains": ("contains", True),
    "starts_with": ("startswith", False),
    "ends_with": ("endswith", False),
    "is_empty": ("exact", False),
    "is_not_empty": ("exact", True),
}


def _condition_q(
    condition: dict[str, Any], target: Any, aliases: dict[str, Expression], index: int
) -> Q | bool:
    spec = FIELDS[condition["field"]]
    op = condition["op"]
    if target is _CONSTANT:
        return condition_holds(condition, {spec.name: ""})
    if isinstance(target, str):
        path = target
    else:
        path = f"_seg_c{index}"
        aliases[path] = target
    lookup, negated = _LOOKUPS[op]
    if op in ("is_empty", "is_not_empty"):
        value: Any = ""
    elif op in ("in", "not_in"):
        value = sorted({typed(spec, v) for v in condition["value"]}, key=str)
    else:
        value = typed(spec, condition["value"])
    # Text values are folded by `typed`; Django escapes % and _ in LIKE patterns.
    q = Q(**{f"{path}__{lookup}": value})
    if negated:
        return ~q
    return _prefiltered(q, target, op, value)


# Positive text matches whose value is plain ASCII: every row the folded comparison
# accepts, the database's own case-insensitive UPPER(…) comparison accepts too (ASCII
# letters fold alike; any other character only sits under a wildcard). Testing that
# first lets PostgreSQL run TRANSLATE() only on the rows that pass it: TRANSLATE costs
# about ten times UPPER per row, which made an email filter over a large creator slow
# (B4 in docs/benchmarks.md).
_PREFILTER = {"eq": "iexact", "contains": "icontains", "starts_with": "istartswith"}
_PREFILTER["ends_with"] = "iendswith"


def _prefiltered(q: Q, target: Any, op: str, value: Any) -> Q:
    lookup = _PREFILTER.get(op)
    source = getattr(target, "source", None)
    if (
        lookup is None
        or not isinstance(target, AsciiFold)
        or not isinstance(source, F)
        or not isinstance(value, str)
        or not value.isascii()
    ):
        return q
    return Q(**{f"{source.name}__{lookup}": value}) & q


def _combine(parts: list[Q | bool], match: str) -> Q | bool:
    """AND/OR with compile-time constants folded away (Q() is no constant in Django)."""
    if match == "all":
        if any(p is False for p in parts):
            return False
        qs = [p for p in parts if not isinstance(p, bool)]
        if not qs:
            return True
        result = qs[0]
        for q in qs[1:]:
            result &= q
        return result
    if any(p is True for p in parts):
        return True
    qs = [p for p in parts if not isinstance(p, bool)]
    if not qs:
        return False
    result = qs[0]
    for q in qs[1:]:
        result |= q
    return result


def _apply(queryset: QuerySet[Any], spec: RuleSpec, fields: dict[str, Any]) -> QuerySet[Any]:
    if not spec.conditions:
        return queryset
    aliases: dict[str, Expression] = {}
    parts = [_condition_q(c, fields[c["field"]], aliases, i) for i, c in enumerate(spec.conditions)]
    combined = _combine(parts, spec.match)
    if combined is False:
        return queryset.none()
    if aliases:
        queryset = queryset.alias(**aliases)
    return queryset if combined is True else queryset.filter(combined)


def subscriptions_matching(
    *, creator_id: int, tz: ZoneInfo, spec: RuleSpec, today: date
) -> QuerySet[Subscription]:
    """Current subscriptions in the rule's segment: of the rule's product (or any), in one
    of its status triggers (not restricted when it has only event triggers), whose
    current state satisfies the conditions (event-only fields are empty)."""
    queryset = Subscription.objects.filter(creator_id=creator_id)
    if any(c["field"].startswith("subscriber.") for c in spec.conditions):
        # Always true (a subscriber belongs to its subscription's creator), but it lets
        # PostgreSQL read only this creator's subscribers through their index instead of
        # folding the emails of every creator's (B4 in docs/benchmarks.md).
        queryset = queryset.filter(subscriber__creator_id=creator_id)
    if spec.product_id is not None:
        queryset = queryset.filter(plan__product_id=spec.product_id)
    if spec.status_triggers:
        queryset = queryset.filter(status__in=spec.status_triggers)
    return _apply(queryset, spec, _subscription_fields(tz, today))


def events_matching(
    *, creator_id: int, tz: ZoneInfo, spec: RuleSpec, since: datetime, until: datetime
) -> QuerySet[SubscriptionEvent]:
    """Events in [since, until) that would have triggered the rule."""
    queryset = SubscriptionEvent.objects.filter(
        creator_id=creator_id, occurred_at__gte=since, occurred_at__lt=until
    )
    trigger_q = Q(type__in=spec.event_triggers) if spec.event_triggers else None
    if spec.status_triggers:
        status_q = Q(type=STATUS_CHANGED, _seg_to__in=spec.status_triggers)
        # Coalesce makes it a plain text expression: `__in` on a bare key transform would
        # compare JSON values, which SQLite refuses for plain strings.
        queryset = queryset.alias(
            _seg_to=Coalesce(KT("data__to"), Value(""), output_field=CharField())
        )
        trigger_q = status_q if trigger_q is None else trigger_q | status_q
    if trigger_q is None:
        return queryset.none()
    queryset = queryset.filter(trigger_q)
    if spec.product_id is not None:
        queryset = queryset.filter(subscription__plan__product_id=spec.product_id)
    return _apply(queryset, spec, _event_fields(tz))
