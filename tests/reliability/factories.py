from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Creator
from subscriptions.models import Subscriber, Subscription, SubscriptionEvent
from tests.factories import (
    CreatorFactory,
    PlanFactory,
    SubscriberFactory,
    SubscriptionFactory,
)


def active_subscriptions(n: int, creator: Creator | None = None) -> list[Subscription]:
    """`n` ACTIVE subscriptions of one creator, inserted in bulk (fast for 1,000)."""
    creator = creator or CreatorFactory()
    plan = PlanFactory(product__creator=creator)
    subscribers = Subscriber.objects.bulk_create(
        [SubscriberFactory.build(creator=creator) for _ in range(n)]
    )
    return Subscription.objects.bulk_create(
        [SubscriptionFactory.build(plan=plan, creator=creator, subscriber=s) for s in subscribers]
    )


def pending_events(subscription: Subscription, n: int, **data: str) -> list[SubscriptionEvent]:
    """`n` committed, unpublished events (as left by a crash between COMMIT and publish),
    old enough for the outbox sweeper to pick up."""
    when = timezone.now() - timedelta(minutes=1)
    return SubscriptionEvent.objects.bulk_create(
        [
            SubscriptionEvent(
                creator_id=subscription.creator_id,
                subscription=subscription,
                type="test.chaos",
                data=dict(data),
                occurred_at=when,
            )
            for _ in range(n)
        ]
    )
