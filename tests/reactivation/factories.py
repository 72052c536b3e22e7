"""Reactivation test data: the seed's subscription (billing day 10) and helpers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import time_machine
from django.core import mail

from accounts.models import Creator
from reactivation.models import ReactivationRequest
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel
from tests.factories import PlanFactory, SubscriptionFactory, actor_for

LINK = re.compile(r"/reactivate/([A-Za-z0-9_-]{43})/")


def at(year: int, month: int, day: int, hour: int = 15, minute: int = 0) -> datetime:
    """A UTC moment; 15:00 UTC is midday in São Paulo, the creators' default zone."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def seed_subscription(creator: Creator | None = None, **plan_kw: Any) -> Subscription:
    """The seed's example: billing day 10 (anchor March 10), paid through May 10, then
    cancelled by the seller on April 15."""
    if creator is not None:
        plan_kw["product__creator"] = creator
    plan = PlanFactory(**plan_kw)
    subscription = SubscriptionFactory(
        plan=plan,
        started_at=at(2026, 3, 10),
        billing_anchor=date(2026, 3, 10),
        paid_through=date(2026, 5, 10),
        next_charge_date=date(2026, 5, 10),
        recurrence=2,
    )
    with time_machine.travel(at(2026, 4, 15), tick=False):
        return subscription_cancel(
            subscription=subscription, actor=actor_for("seller"), reason="seed"
        )


def cancelled_subscription(creator: Creator | None = None, **kw: Any) -> Subscription:
    extra = {"plan__product__creator": creator} if creator else {}
    subscription = SubscriptionFactory(**extra, **kw)
    return subscription_cancel(subscription=subscription, actor=actor_for("customer"))


def token_from_last_email(to: str | None = None) -> str:
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, "no email was sent"
    found = LINK.search(messages[-1].body)
    assert found, messages[-1].body
    return found.group(1)


def page_url(token: str) -> str:
    return f"/reactivate/{token}/"


def reload(request: ReactivationRequest) -> ReactivationRequest:
    request.refresh_from_db()
    return request
