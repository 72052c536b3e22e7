"""B7: evaluate 1,000,000 event payloads against 20 rules with segmentation's Python
evaluator, against the `rule-engine` package evaluating the same conditions written in
its expression language. Both must agree on every (payload, rule) pair."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from bench.harness import Result, Scenario
from segmentation.compiler import RuleSpec
from segmentation.conditions import FIELDS, TEXT, fold

# Distinct payloads; the million evaluations cycle through them (a million distinct dicts
# would take a gigabyte of memory and measure the allocator, not the evaluators).
POOL = 20_000
BASELINE_SHARE = 20
# Payloads whose every (payload, rule) answer is compared one by one before timing.
AGREEMENT = 2_000
PLANS = [
    "0b9f7a52-6c64-4a57-9b0e-2f4a6a3f8d11",
    "7d3c7c2e-1f9d-4f21-8c55-0d6c5b7e9a42",
    "c1e0d5b4-93a1-4c2b-a7a8-5e4f3d2c1b00",
]
STATUSES = ["ACTIVE", "DELAYED", "INACTIVE", "CANCELLED_BY_CUSTOMER", ""]
REASONS = ["Too expensive", "not using it", "Found ANOTHER course", "", "expensive, sorry"]

# (match, conditions): every operator and field type appears at least once.
RULES: list[tuple[str, list[dict[str, Any]]]] = [
    ("all", [{"field": "period", "op": "eq", "value": "monthly"}]),
    ("all", [{"field": "price", "op": "gte", "value": "49.90"}]),
    ("all", [{"field": "recurrence", "op": "lt", "value": 3}]),
    ("all", [{"field": "plan", "op": "in", "value": PLANS[:2]}]),
    ("all", [{"field": "subscriber.email", "op": "ends_with", "value": "@gmail.com"}]),
    ("all", [{"field": "cancellation_reason", "op": "contains", "value": "expensive"}]),
    ("all", [{"field": "cancellation_reason", "op": "is_empty", "value": None}]),
    ("all", [{"field": "previous_status", "op": "eq", "value": "DELAYED"}]),
    ("all", [{"field": "subscriber.locale", "op": "ne", "value": "en"}]),
    ("all", [{"field": "currency", "op": "eq", "value": "BRL"}]),
    (
        "all",
        [
            {"field": "period", "op": "in", "value": ["monthly", "yearly"]},
            {"field": "recurrence", "op": "gte", "value": 2},
            {"field": "price", "op": "lt", "value": "100"},
        ],
    ),
    (
        "any",
        [
            {"field": "days_since_start", "op": "gt", "value": 365},
            {"field": "subscriber.email", "op": "starts_with", "value": "VIP"},
        ],
    ),
    (
        "all",
        [
            {"field": "previous_status", "op": "not_in", "value": ["ACTIVE", "DELAYED"]},
            {"field": "cancellation_reason", "op": "not_contains", "value": "sorry"},
        ],
    ),
    (
        "all",
        [
            {"field": "subscriber.email", "op": "contains", "value": "user1"},
            {"field": "subscriber.locale", "op": "eq", "value": "pt-BR"},
        ],
    ),
    ("all", [{"field": "days_since_start", "op": "lte", "value": 30}]),
    ("all", [{"field": "recurrence", "op": "ne", "value": 0}]),
    (
        "any",
        [
            {"field": "plan", "op": "eq", "value": PLANS[2]},
            {"field": "period", "op": "eq", "value": "weekly"},
            {"field": "cancellation_reason", "op": "is_not_empty", "value": None},
        ],
    ),
    ("all", [{"field": "reactivation.mode", "op": "is_empty", "value": None}]),
    (
        "all",
        [
            {"field": "price", "op": "gt", "value": "10"},
            {"field": "price", "op": "lte", "value": "479.00"},
            {"field": "currency", "op": "in", "value": ["BRL", "USD"]},
            {"field": "recurrence", "op": "gt", "value": 5},
        ],
    ),
    ("all", []),
]


def _payload(rng: random.Random, n: int) -> dict[str, Any]:
    period, price = rng.choice([("monthly", "49.90"), ("yearly", "479.00"), ("weekly", "14.90")])
    domain = rng.choice(["gmail.com", "example.com", "Mail.COM"])
    prefix = rng.choice(["user", "VIP", "User", "vip"])
    return {
        "plan": rng.choice(PLANS),
        "price": Decimal(price),
        "currency": rng.choice(["BRL", "BRL", "USD"]),
        "period": period,
        "recurrence": rng.randrange(0, 24),
        "days_since_start": rng.randrange(0, 720),
        "cancellation_reason": rng.choice(REASONS),
        "previous_status": rng.choice(STATUSES),
        "subscriber.email": f"{prefix}{n}@{domain}",
        "subscriber.locale": rng.choice(["en", "pt-BR"]),
        "reactivation.mode": rng.choice(["", "", "reactivate"]),
    }


# --- the same rules in rule-engine's language ----------------------------------------


def _symbol(field: str) -> str:
    return field.replace(".", "_")


def _literal(field: str, value: Any) -> str:
    spec = FIELDS[field]
    if spec.type == "decimal":
        return str(Decimal(value))
    if spec.type == "int":
        return str(int(value))
    text = fold(value) if spec.type == TEXT else value
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _expression(condition: dict[str, Any]) -> str:
    field, op, value = condition["field"], condition["op"], condition["value"]
    spec = FIELDS[field]
    symbol = _symbol(field)
    if spec.type == TEXT:
        symbol = f"{symbol}.as_lower"
    if op == "is_empty":
        return f'{symbol} == ""'
    if op == "is_not_empty":
        return f'{symbol} != ""'
    if op in ("in", "not_in"):
        items = "[" + ", ".join(_literal(field, v) for v in value) + "]"
        return f"{symbol} {'in' if op == 'in' else 'not in'} {items}"
    literal = _literal(field, value)
    simple = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    if op in simple:
        return f"{symbol} {simple[op]} {literal}"
    if op == "contains":
        return f"{literal} in {symbol}"
    if op == "not_contains":
        return f"{literal} not in {symbol}"
    pattern = _regex(fold(value))
    return f'{symbol} =~ "^{pattern}"' if op == "starts_with" else f'{symbol} =~ ".*{pattern}$"'


def _regex(text: str) -> str:
    import re

    return re.escape(text).replace("\\", "\\\\").replace('"', '\\"')


def rule_engine_expression(match: str, conditions: list[dict[str, Any]]) -> str:
    if not conditions:
        return "true"
    joiner = " and " if match == "all" else " or "
    return joiner.join(f"({_expression(c)})" for c in conditions)


def _rule_engine_payload(facts: dict[str, Any]) -> dict[str, Any]:
    return {_symbol(k): v for k, v in facts.items()}


def run(scale: float) -> Result:
    import rule_engine

    total = int(1_000_000 * scale)
    rng = random.Random(7)
    pool = [_payload(rng, n) for n in range(min(POOL, total))]
    theirs_pool = [_rule_engine_payload(p) for p in pool]
    # As the outbox consumer does: one RuleSpec per rule, its conditions compiled once.
    specs = [
        RuleSpec(triggers=("ACTIVE",), match=match, conditions=tuple(conditions))
        for match, conditions in RULES
    ]
    predicates = [spec.predicate for spec in specs]
    context = rule_engine.Context(default_value=None)
    compiled = [
        rule_engine.Rule(rule_engine_expression(match, conditions), context=context)
        for match, conditions in RULES
    ]

    # Agreement first: a faster evaluator that answers differently
    # would be measuring something else.
    disagreements = 0
    for facts, flat in zip(pool[:AGREEMENT], theirs_pool[:AGREEMENT], strict=True):
        for predicate, rule in zip(predicates, compiled, strict=True):
            if predicate(facts) != rule.matches(flat):
                disagreements += 1

    size = len(pool)
    matches = 0
    start = time.perf_counter()
    for i in range(total):
        facts = pool[i % size]
        for predicate in predicates:
            if predicate(facts):
                matches += 1
    ours = time.perf_counter() - start

    # rule-engine is an order of magnitude slower: its rate is measured over a twentieth
    # of the payloads (still 50,000 × 20 evaluations at full size) to keep the run short.
    their_total = max(1, total // BASELINE_SHARE)
    their_matches = 0
    start = time.perf_counter()
    for i in range(their_total):
        flat = theirs_pool[i % size]
        for rule in compiled:
            if rule.matches(flat):
                their_matches += 1
    theirs = time.perf_counter() - start

    ours_rate = total * len(RULES) / ours
    theirs_rate = their_total * len(RULES) / theirs
    ours_share = sum(1 for i in range(their_total) for p in predicates if p(pool[i % size]))
    return Result(
        id="B7",
        title=f"{total:,} payloads × {len(RULES)} rules, Python condition evaluator",
        metric="evaluations/s",
        value=round(ours_rate),
        baseline_value=round(theirs_rate),
        target="≥ 1 × baseline",
        better="higher",
        target_ratio=1.0,
        details={
            "payloads": total,
            "distinct_payloads": size,
            "rules": len(RULES),
            "baseline_payloads": their_total,
            "seconds": round(ours, 2),
            "baseline_seconds": round(theirs, 2),
            "matches": matches,
            "baseline_matches": their_matches,
            "disagreements": disagreements,
            "payloads_compared_one_by_one": min(AGREEMENT, size),
            "baseline": f"rule-engine {rule_engine.__version__} Rule.matches()",
        },
        extra_checks={"same_answers": disagreements == 0 and ours_share == their_matches},
    )


SCENARIO = Scenario("B7", "Condition evaluation", run)
