from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from subscriptions import renewals
from subscriptions.models import Subscription, SubscriptionEvent
from subscriptions.outbox import event_process
from tests.factories import SubscriptionFactory

DUE = date(2026, 2, 10)
LINK = re.compile(r"http://[^\s\"<]+/pay/([A-Za-z0-9_-]{43})/")


@pytest.fixture(autouse=True)
def celery_eager():  # type: ignore[no-untyped-def]
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # noon in São Paulo


def at(day: date) -> time_machine.travel:
    return time_machine.travel(noon(day), tick=False)


def declined_renewal(
    payment_method: str = "pm_sandbox_declined", *, locale: str = "en", **kw: object
) -> Subscription:
    """A monthly subscription (anchor Jan 10) whose Feb 10 renewal was just declined,
    with its events processed (so the dunning email is in `mail.outbox`)."""
    sub = SubscriptionFactory(
        billing_anchor=date(2026, 1, 10),
        started_at=noon(date(2026, 1, 10)),
        next_charge_date=DUE,
        paid_through=DUE,
        payment_method=payment_method,
        subscriber__locale=locale,
        **kw,
    )
    with at(DUE):
        renewals.renewals_run()
        process_events(sub)
    sub.refresh_from_db()
    return sub


def process_events(sub: Subscription) -> None:
    """Run the event consumers as the worker would, and the tasks they queue."""
    pending = SubscriptionEvent.objects.filter(subscription=sub, processed_at__isnull=True)
    for event_id in pending.order_by("id").values_list("pk", flat=True):
        with TestCase.captureOnCommitCallbacks(execute=True):
            event_process(event_id=event_id)


def token_from_last_email() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)
