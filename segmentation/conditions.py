"""The one condition model of segmentation rules (SPEC §8.1) and its Python evaluator.

A condition is `{"field", "op", "value"}`; a rule joins its conditions with `all` or `any`
(no conditions: always true). The same model compiles to a database query in
`segmentation.compiler`; both must give the same answer on the same data, so every
comparison rule lives here, stated once:

- text fields (`cancellation_reason`, `subscriber.email`) compare case-insensitively, with
  ASCII case folding only (A-Z → a-z). PostgreSQL's LOWER() depends on the database's
  locale; ASCII folding gives the same answer on every database and in Python.
- enum fields compare exactly against their allowed values (validated on save).
- a missing value (no previous status on a renewal, no reactivation mode on a status
  change, no cancellation reason) is the empty string: `is_empty` is true, `eq`/`in`/
  `contains`/`starts_with`/`ends_with` are false, and the negations are true.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from subscriptions.models import Period, Status
from subscriptions.reactivation_rules import ReactivationMode

TEXT, ENUM, INT, DECIMAL, UUID_T, CODE = "text", "enum", "int", "decimal", "uuid", "code"

EQUALITY = ("eq", "ne", "in", "not_in")
ORDER = ("gt", "gte", "lt", "lte")
TEXT_MATCH = ("contains", "not_contains", "starts_with", "ends_with")
EMPTINESS = ("is_empty", "is_not_empty")
OPERATORS = EQUALITY + ORDER + TEXT_MATCH + EMPTINESS

OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    TEXT: EQUALITY + TEXT_MATCH + EMPTINESS,
    ENUM: EQUALITY,
    INT: EQUALITY + ORDER,
    DECIMAL: EQUALITY + ORDER,
    UUID_T: EQUALITY,
    CODE: EQUALITY,
}

REACTIVATION_MODES = tuple(ReactivationMode.values)
# The offers a subscriber may take instead of cancelling (subscriptions/retention.py).
RETENTION_OFFERS = ("pause", "downgrade", "coupon")
LOCALES = ("pt-BR", "en")
MAX_IN_VALUES = 200
MAX_TEXT = 500


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    choices: tuple[str, ...] = ()
    # Empty is a possible value: the field also takes is_empty / is_not_empty.
    optional: bool = False
    # Only an event knows it (see docs/segmentation.md: empty for current subscriptions).
    event_only: bool = False


FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("plan", UUID_T),
        FieldSpec("price", DECIMAL),
        FieldSpec("currency", CODE),
        FieldSpec("period", ENUM, tuple(Period.values)),
        FieldSpec("recurrence", INT),
        FieldSpec("days_since_start", INT),
        FieldSpec("cancellation_reason", TEXT, optional=True),
        FieldSpec("previous_status", ENUM, tuple(Status.values), optional=True, event_only=True),
        FieldSpec("subscriber.email", TEXT),
        FieldSpec("subscriber.locale", ENUM, LOCALES),
        FieldSpec("reactivation.mode", ENUM, REACTIVATION_MODES, optional=True, event_only=True),
        FieldSpec("retention.offer", ENUM, RETENTION_OFFERS, optional=True, event_only=True),
    )
}


def ops_for(spec: FieldSpec) -> tuple[str, ...]:
    ops = OPS_BY_TYPE[spec.type]
    if spec.optional and "is_empty" not in ops:
        ops = ops + EMPTINESS
    return ops


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
ASCII_UPPER_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def fold(text: str) -> str:
    """ASCII case folding, identical to the compiler's TRANSLATE()."""
    return text.translate(_ASCII_LOWER)


# --- validation -------------------------------------------------------------------------


class ConditionError(ValueError):
    """One bad condition; the message names the field and operator, not the row."""


def _type_label(spec: FieldSpec) -> str:
    return {
        TEXT: "text",
        ENUM: "choice",
        INT: "whole-number",
        DECIMAL: "decimal",
        UUID_T: "plan id",
        CODE: "currency",
    }[spec.type]


def _clean_scalar(spec: FieldSpec, value: Any) -> Any:
    """The value in its stored JSON form, or ConditionError naming what is wrong."""
    name = spec.name
    if spec.type == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise ConditionError(f"field '{name}' takes a whole number, not {value!r}")
        return value
    if spec.type == DECIMAL:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ConditionError(f"field '{name}' takes a decimal number, not {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ConditionError(f"field '{name}' takes a decimal number, not {value!r}") from None
        if not number.is_finite():
            raise ConditionError(f"field '{name}' takes a finite decimal number")
        return str(number)
    if not isinstance(value, str):
        raise ConditionError(f"field '{name}' takes text, not {value!r}")
    if spec.type == UUID_T:
        try:
            return str(UUID(value))
        except ValueError:
            raise ConditionError(f"field '{name}' takes a plan id, not {value!r}") from None
    if spec.type == CODE:
        code = value.strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ConditionError(f"field '{name}' takes a 3-letter ISO code, not {value!r}")
        return code
    if spec.type == ENUM:
        if value not in spec.choices:
            raise ConditionError(
                f"value {value!r} is not one of {', '.join(spec.choices)} for field '{name}'"
            )
        return value
    if not value or len(value) > MAX_TEXT:
        raise ConditionError(
            f"field '{name}' takes a non-empty text of at most {MAX_TEXT} characters "
            "(use is_empty to test for no value)"
        )
    return value


def condition_clean(raw: Any) -> dict[str, Any]:
    """A condition in its stored form, or ConditionError with a message for a person."""
    if not isinstance(raw, Mapping):
        raise ConditionError('a condition is an object {"field", "op", "value"}')
    field, op = raw.get("field"), raw.get("op")
    if field not in FIELDS:
        raise ConditionError(f"unknown field {field!r}; use one of {', '.join(FIELDS)}")
    spec = FIELDS[field]
    if op not in OPERATORS:
        raise ConditionError(f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    if op not in ops_for(spec):
        raise ConditionError(
            f"operator '{op}' does not apply to {_type_label(spec)} field '{field}'"
        )
    if op in EMPTINESS:
        if raw.get("value") not in (None, "", []):
            raise ConditionError(f"operator '{op}' takes no value")
        return {"field": field, "op": op, "value": None}
    if "value" not in raw or raw["value"] is None:
        raise ConditionError(f"operator '{op}' on field '{field}' needs a value")
    value = raw["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise ConditionError(
                f"operator '{op}' takes a list of 1 to {MAX_IN_VALUES} values for field '{field}'"
            )
        return {"field": field, "op": op, "value": [_clean_scalar(spec, v) for v in value]}
    return {"field": field, "op": op, "value": _clean_scalar(spec, value)}


# --- Python evaluator ----------------------------------------------------------------------


def typed(spec: FieldSpec, value: Any) -> Any:
    """A stored condition value in the type facts use for that field."""
    if spec.type == DECIMAL:
        return Decimal(value)
    if spec.type == TEXT:
        return fold(value)
    return value


def condition_predicate(condition: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    """The condition compiled once into a function of the facts.

    Everything that depends only on the condition (field spec, operator, typed value,
    the `in` set) is resolved here, so evaluating a rule against a million events costs
    one small closure call per condition instead of re-reading and re-typing the
    condition every time (B7 in docs/benchmarks.md)."""
    spec = FIELDS[condition["field"]]
    op = condition["op"]
    name = spec.name
    text = spec.type == TEXT
    optional = text or spec.optional

    def fact_of(facts: Mapping[str, Any]) -> Any:
        fact = facts[name]
        if optional:
            fact = fact or ""
        return fold(fact) if text else fact

    if op == "is_empty":
        return lambda facts: fact_of(facts) == ""
    if op == "is_not_empty":
        return lambda facts: fact_of(facts) != ""
    raw = condition["value"]
    if op in ("in", "not_in"):
        values = frozenset(typed(spec, v) for v in raw)
        if op == "in":
            return lambda facts: fact_of(facts) in values
        return lambda facts: fact_of(facts) not in values
    value = typed(spec, raw)
    if op == "contains":
        return lambda facts: value in fact_of(facts)
    if op == "not_contains":
        return lambda facts: value not in fact_of(facts)
    if op == "starts_with":
        return lambda facts: bool(fact_of(facts).startswith(value))
    if op == "ends_with":
        return lambda facts: bool(fact_of(facts).endswith(value))
    compare = _COMPARISONS.get(op)
    if compare is None:
        raise ValueError(f"unknown operator {op!r}")
    if not optional:
        # The common case (no folding, no empty default): read the fact directly.
        return lambda facts: bool(compare(facts[name], value))
    return lambda facts: bool(compare(fact_of(facts), value))


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def condition_holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    return condition_predicate(condition)(facts)


def conditions_predicate(
    conditions: Sequence[Mapping[str, Any]], match: str
) -> Callable[[Mapping[str, Any]], bool]:
    """A whole rule's conditions compiled once (see `condition_predicate`)."""
    predicates = tuple(condition_predicate(c) for c in conditions)
    if not predicates:
        return lambda facts: True
    if len(predicates) == 1:
        return predicates[0]
    if match == "all":
        return lambda facts: all(p(facts) for p in predicates)
    return lambda facts: any(p(facts) for p in predicates)


def conditions_hold(
    conditions: Sequence[Mapping[str, Any]], match: str, facts: Mapping[str, Any]
) -> bool:
    """`all`: every condition holds; `any`: at least one does. No conditions: true."""
    return conditions_predicate(conditions, match)(facts)
