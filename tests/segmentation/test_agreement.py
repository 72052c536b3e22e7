"""The Python evaluator and the compiled query select exactly the same rows (SPEC §8.2),
on generated rules and data, on the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.compiler import RuleSpec, events_matching, subscriptions_matching
from segmentation.conditions import FIELDS, condition_clean, ops_for
from segmentation.evaluate import event_triggers_rule, subscription_in_segment
from segmentation.facts import TRIGGERS
from subscriptions.models import Status, Subscriber, Subscription, SubscriptionEvent
from tests.factories import CreatorFactory, PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db

BASE = datetime(2024, 3, 10, 1, 30, tzinfo=UTC)  # 22:30 the day before in São Paulo
TODAY = date(2024, 3, 10)
PRICES = [Decimal("9.90"), Decimal("10.00"), Decimal("49.90")]
TEXT = st.text(alphabet="aAbBzZ éÉ%_.@", max_size=5)
NONEMPTY = st.text(alphabet="aAbBzZ éÉ%_.@", min_size=1, max_size=3)
STATUSES = list(Status.values)
MODES = ["reactivate", "reactivate_and_charge"]
EVENT_TYPES = [
    "subscription.status_changed",
    "charge.refunded",
    "charge.chargeback",
    "reactivation.requested",
    "reactivation.accepted",
    "reactivation.rejected",
    "reactivation.expired",
    "subscription.renewed",
]


def scalar(field: str, plans: list[str]) -> st.SearchStrategy[Any]:
    spec = FIELDS[field]
    if field == "plan":
        return st.sampled_from(plans)
    if field == "price":
        return st.sampled_from(["9.9", "10", "10.00", "49.90", "0", "100"])
    if field == "currency":
        return st.sampled_from(["BRL", "usd", "EUR"])
    if field == "recurrence":
        return st.integers(-1, 4)
    if field == "days_since_start":
        return st.integers(-2, 12)
    if spec.choices:
        return st.sampled_from(spec.choices)
    return NONEMPTY


@st.composite
def conditions(draw: Any, plans: list[str]) -> dict[str, Any]:
    field = draw(st.sampled_from(sorted(FIELDS)))
    op = draw(st.sampled_from(ops_for(FIELDS[field])))
    if op in ("is_empty", "is_not_empty"):
        value: Any = None
    elif op in ("in", "not_in"):
        value = draw(st.lists(scalar(field, plans), min_size=1, max_size=3))
    else:
        value = draw(scalar(field, plans))
    return condition_clean({"field": field, "op": op, "value": value})


subscription_rows = st.lists(
    st.fixed_dictionaries(
        {
            "plan": st.integers(0, 2),
            "status": st.sampled_from(STATUSES),
            "recurrence": st.integers(0, 3),
            "start_hours": st.integers(-24 * 10, 6),
            "reason": TEXT,
            "email": TEXT,
            "locale": st.sampled_from(["en", "pt-BR"]),
            "events": st.lists(
                st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(EVENT_TYPES),
                        "from": st.sampled_from([*STATUSES, None]),
                        "to": st.sampled_from(STATUSES),
                        "mode": st.sampled_from([*MODES, None]),
                        "after_hours": st.integers(0, 24 * 6),
                    }
                ),
                max_size=3,
            ),
        }
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    creator = CreatorFactory(time_zone="America/Sao_Paulo")
    products = [ProductFactory(creator=creator), ProductFactory(creator=creator)]
    plans = [
        PlanFactory(creator=creator, product=products[0], price=PRICES[0], period="monthly"),
        PlanFactory(
            creator=creator, product=products[0], price=PRICES[1], currency="USD", period="yearly"
        ),
        PlanFactory(creator=creator, product=products[1], price=PRICES[2], period="weekly"),
    ]
    return creator, products, plans


def _insert(creator: Any, plans: list[Any], rows: list[dict[str, Any]]) -> None:
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(creator=creator, email=f"{row['email']}#{i}@Example.com", locale=row["locale"])
        for i, row in enumerate(rows)
    )
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            creator=creator,
            subscriber=subscriber,
            plan=plans[row["plan"]],
            status=row["status"],
            started_at=BASE + timedelta(hours=row["start_hours"]),
            billing_anchor=TODAY,
            recurrence=row["recurrence"],
            cancellation_reason=row["reason"],
        )
        for subscriber, row in zip(subscribers, rows, strict=True)
    )
    events = []
    for subscription, row in zip(subscriptions, rows, strict=True):
        for e in row["events"]:
            data: dict[str, Any] = {}
            if e["type"] == "subscription.status_changed":
                data = {"from": e["from"], "to": e["to"]}
            elif e["mode"] is not None:
                data = {"mode": e["mode"]}
            if e["from"] is not None and e["type"] == "charge.refunded":
                data["from"] = e["from"]  # not a status change: previous_status stays empty
            events.append(
                SubscriptionEvent(
                    creator=creator,
                    subscription=subscription,
                    type=e["type"],
                    data=data,
                    occurred_at=subscription.started_at + timedelta(hours=e["after_hours"]),
                    processed_at=BASE,
                )
            )
    SubscriptionEvent.objects.bulk_create(events)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_python_and_sql_select_the_same_rows(world: Any, data: st.DataObject) -> None:
    creator, products, plans = world
    plan_ids = [str(p.uuid) for p in plans]
    spec = RuleSpec(
        triggers=tuple(data.draw(st.lists(st.sampled_from(TRIGGERS), min_size=1, unique=True))),
        match=data.draw(st.sampled_from(["all", "any"])),
        conditions=tuple(data.draw(st.lists(conditions(plan_ids), max_size=4))),
        product_id=data.draw(st.sampled_from([None, products[0].pk, products[1].pk])),
    )
    rows = data.draw(subscription_rows)
    with transaction.atomic():
        _insert(creator, plans, rows)
        tz = creator.tz
        everything = list(
            Subscription.objects.filter(creator=creator).select_related(
                "plan", "subscriber", "creator"
            )
        )
        by_id = {s.pk: s for s in everything}
        expected = {s.pk for s in everything if subscription_in_segment(spec, s, today=TODAY)}
        compiled = set(
            subscriptions_matching(
                creator_id=creator.pk, tz=tz, spec=spec, today=TODAY
            ).values_list("pk", flat=True)
        )
        assert compiled == expected, (spec, rows)

        events = list(SubscriptionEvent.objects.filter(creator=creator))
        expected_events = {
            e.pk for e in events if event_triggers_rule(spec, e, by_id[e.subscription_id])
        }
        compiled_events = set(
            events_matching(
                creator_id=creator.pk,
                tz=tz,
                spec=spec,
                since=BASE - timedelta(days=30),
                until=BASE + timedelta(days=30),
            ).values_list("pk", flat=True)
        )
        assert compiled_events == expected_events, (spec, rows)
        transaction.set_rollback(True)


def test_the_compiled_count_is_a_single_query_without_subqueries(world: Any) -> None:
    creator, products, _plans = world
    spec = RuleSpec(
        triggers=("CANCELLED_BY_CUSTOMER",),
        match="any",
        conditions=(
            condition_clean({"field": "subscriber.email", "op": "ends_with", "value": "@X.com"}),
            condition_clean({"field": "days_since_start", "op": "gte", "value": 30}),
            condition_clean({"field": "price", "op": "lt", "value": "20"}),
        ),
        product_id=products[0].pk,
    )
    queryset = subscriptions_matching(creator_id=creator.pk, tz=creator.tz, spec=spec, today=TODAY)
    sql = str(queryset.query).upper()
    assert sql.count("SELECT") == 1
    assert ("TRANSLATE" if connection.vendor == "postgresql" else "LOWER") in sql
