"""`claim_rows`: a row is claimed once, only while it still meets the condition, and the
claim says which rows it got."""

from __future__ import annotations

import pytest
from django.utils import timezone

from core.claims import claim_rows
from subscriptions.models import SubscriptionEvent
from tests.factories import SubscriptionFactory
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _deliveries(count: int) -> list[WebhookDelivery]:
    endpoint = WebhookEndpointFactory()
    return [
        WebhookDelivery.objects.create(
            creator=endpoint.creator,
            endpoint=endpoint,
            event_type="webhook.test",
            payload={},
        )
        for _ in range(count)
    ]


def test_a_row_is_claimed_once_and_the_claim_returns_what_it_got():
    rows = _deliveries(3)
    ids = [row.pk for row in rows]
    now = timezone.now()
    Pending = WebhookDelivery.Status.PENDING
    WebhookDelivery.objects.filter(pk=ids[2]).update(status=WebhookDelivery.Status.SUCCEEDED)

    def claim() -> list[tuple[object, ...]]:
        return claim_rows(
            WebhookDelivery,
            ids=ids,
            where={"status": Pending, "attempts": 0},
            set={"last_attempt_at": now},
            increment=("attempts",),
            returning=("id", "attempts"),
        )

    assert sorted(claim()) == [(ids[0], 1), (ids[1], 1)]
    assert claim() == []  # attempt 0 is taken: nobody gets it again
    # Written through the fields, so the ORM finds exactly what it would have written.
    assert set(
        WebhookDelivery.objects.filter(last_attempt_at=now).values_list("pk", flat=True)
    ) == {
        ids[0],
        ids[1],
    }


def test_a_null_condition_and_skip_locked_claim_like_the_orm_filter():
    subscription = SubscriptionFactory()
    events = [
        SubscriptionEvent.objects.create(
            creator=subscription.creator,
            subscription=subscription,
            type="charge.failed",
            data={},
            occurred_at=timezone.now(),
        )
        for _ in range(2)
    ]
    SubscriptionEvent.objects.filter(pk=events[1].pk).update(processed_at=timezone.now())
    got = claim_rows(
        SubscriptionEvent,
        ids=[e.pk for e in events],
        where={"processed_at": None},
        increment=("publish_attempts",),
        returning=("id", "publish_attempts"),
        skip_locked=True,
    )
    assert got == [(events[0].pk, 1)]


def test_nothing_to_claim_or_nothing_to_change():
    assert claim_rows(WebhookDelivery, ids=[], where={}, increment=("attempts",)) == []
    with pytest.raises(ValueError, match="must change something"):
        claim_rows(WebhookDelivery, ids=[1], where={})
    with pytest.raises(ValueError, match="not a concrete column"):
        claim_rows(WebhookEndpoint, ids=[1], where={"deliveries": 1}, set={"is_active": False})
