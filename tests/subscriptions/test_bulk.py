"""The bulk write helpers batch jobs use instead of the ORM's bulk methods."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from core.bulk import bulk_insert_rows
from subscriptions.models import Charge, SubscriptionEvent
from subscriptions.services import charge_build
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_bulk_insert_sets_each_rows_key_and_stores_what_the_orm_would():
    subscriptions = [SubscriptionFactory() for _ in range(3)]
    occurred = datetime(2026, 5, 1, 12, tzinfo=UTC)
    events = [
        SubscriptionEvent(
            creator_id=s.creator_id,
            subscription=s,
            type="charge.succeeded",
            data={"n": i, "quote": 'a "b" \\ c', "nested": {"list": [1, None]}},
            occurred_at=occurred,
        )
        for i, s in enumerate(subscriptions)
    ]
    charges = [
        charge_build(subscription=s, kind=Charge.Kind.RENEWAL, period_start=s.next_charge_date)
        for s in subscriptions
    ]
    with transaction.atomic():
        bulk_insert_rows(events)
        bulk_insert_rows(charges)

    for i, (event, charge) in enumerate(zip(events, charges, strict=True)):
        stored = SubscriptionEvent.objects.get(pk=event.pk)
        assert stored.uuid == event.uuid and stored.subscription_id == subscriptions[i].pk
        assert stored.data == {"n": i, "quote": 'a "b" \\ c', "nested": {"list": [1, None]}}
        assert (stored.occurred_at, stored.processed_at, stored.publish_attempts) == (
            occurred,
            None,
            0,
        )
        assert not event._state.adding
        saved = Charge.objects.get(pk=charge.pk)
        assert (saved.idempotency_key, saved.amount, saved.status) == (
            charge.idempotency_key,
            charge.amount,
            "pending",
        )
        assert saved.created_at is not None and saved.created_at == charge.created_at
