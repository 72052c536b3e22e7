"""Every list endpoint runs the same, pinned number of queries at 1 and at 50 rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Creator
from tests.api_helpers import api_client
from tests.factories import ChargeFactory, PlanFactory, ProductFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _subscription(creator: Creator) -> Any:
    return SubscriptionFactory(plan=PlanFactory(product=ProductFactory(creator=creator)))


def _coupon(creator: Creator) -> Any:
    from decimal import Decimal

    from subscriptions.coupons import coupon_create

    plan = PlanFactory(product=ProductFactory(creator=creator))
    return coupon_create(
        creator=creator,
        code=f"C{plan.pk}",
        kind="percent",
        value=Decimal(5),
        duration="once",
        plans=[plan],
    )


def _event(subscription: Any) -> None:
    from django.utils import timezone

    from subscriptions.models import SubscriptionEvent

    SubscriptionEvent.objects.create(
        creator=subscription.creator,
        subscription=subscription,
        type="charge.succeeded",
        occurred_at=timezone.now(),
    )


# name → (make the parent once, add one row, URL, pinned query count). The count is the
# API key lookup + the page (+ the parent object for nested lists).
LISTS: dict[
    str, tuple[Callable[[Creator], Any], Callable[[Creator, Any], Any], Callable[[Any], str], int]
] = {
    "products": (
        lambda c: None,
        lambda c, p: ProductFactory(creator=c),
        lambda p: "/api/v1/products",
        2,
    ),
    "plans": (
        lambda c: None,
        lambda c, p: PlanFactory(product=ProductFactory(creator=c)),
        lambda p: "/api/v1/plans",
        2,
    ),
    "coupons": (
        lambda c: None,
        lambda c, p: _coupon(c),
        lambda p: "/api/v1/coupons",
        3,  # + the plans each is valid for, prefetched in one query
    ),
    "subscriptions": (
        lambda c: None,
        lambda c, p: _subscription(c),
        lambda p: "/api/v1/subscriptions?status=ACTIVE",
        2,
    ),
    "events": (
        _subscription,
        lambda c, p: _event(p),
        lambda p: f"/api/v1/subscriptions/{p.uuid}/events",
        3,
    ),
    "charges": (
        _subscription,
        lambda c, p: ChargeFactory(subscription=p),
        lambda p: f"/api/v1/subscriptions/{p.uuid}/charges",
        3,
    ),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_list_query_count_is_fixed(creator, django_assert_num_queries, name):
    make_parent, add_row, url_of, pinned = LISTS[name]
    parent = make_parent(creator)
    client = api_client(creator)
    url = url_of(parent)
    client.get(url)  # warm-up: the key's first use records last_used_at
    add_row(creator, parent)
    with django_assert_num_queries(pinned):
        one = client.get(url)
    assert len(one.json()["results"]) == 1
    for _ in range(49):
        add_row(creator, parent)
    with CaptureQueriesContext(connection) as fifty:
        many = client.get(url)
    assert len(many.json()["results"]) == 50
    assert len(fifty.captured_queries) == pinned
