"""Renewal reminders (recovery/reminders.py): when, once, in the subscriber's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.test import TestCase

from recovery.models import NoticeSent
from recovery.reminders import reminder_days, renewal_reminders_send
from subscriptions.events import SEGMENTATION_EVENT_TRIGGERS
from subscriptions.models import Period, RecoveryPolicy, Status, SubscriptionEvent
from subscriptions.outbox import event_process
from tests.factories import PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

RENEWAL = date(2027, 3, 10)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # noon in São Paulo


def _yearly(locale: str = "en", **plan):  # type: ignore[no-untyped-def]
    return SubscriptionFactory(
        plan=PlanFactory(period=Period.YEARLY, price="499.00", **plan),
        billing_anchor=date(2026, 3, 10),
        next_charge_date=RENEWAL,
        paid_through=RENEWAL,
        subscriber__locale=locale,
        subscriber__name="Ana",
    )


def _run(day: date) -> int:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return renewal_reminders_send(now=noon(day))


def test_a_yearly_renewal_is_reminded_seven_days_before_once():
    sub = _yearly()
    assert _run(RENEWAL - timedelta(days=8)) == 0
    assert _run(RENEWAL - timedelta(days=7)) == 1
    assert _run(RENEWAL - timedelta(days=7)) == 0  # a second run, the same day
    assert _run(RENEWAL - timedelta(days=3)) == 0  # and later days

    [message] = mail.outbox
    assert message.to == [sub.subscriber.email]
    assert message.subject == (
        f"Your subscription to {sub.plan.product.name} renews on March 10, 2027"
    )
    assert "Hello Ana," in message.body
    assert "Amount: 499.00 BRL" in message.body
    assert f"/s/{sub.creator.slug}/" in message.body
    [event] = SubscriptionEvent.objects.filter(subscription=sub, type="renewal.upcoming")
    assert event.data == {
        "next_charge_date": "2027-03-10",
        "amount": "499.00",
        "currency": "BRL",
        "days_before": 7,
    }
    sub.refresh_from_db()
    assert sub.renewal_reminded_for == RENEWAL


def test_in_portuguese():
    _yearly(locale="pt-BR")
    _run(RENEWAL - timedelta(days=5))
    [message] = mail.outbox
    assert message.subject.endswith("renova em 10 de março de 2027")
    assert "Valor: 499,00 BRL" in message.body


def test_monthly_plans_are_not_reminded_by_default_and_the_product_can_choose():
    monthly = SubscriptionFactory(next_charge_date=RENEWAL, paid_through=RENEWAL)
    assert _run(RENEWAL - timedelta(days=3)) == 0
    RecoveryPolicy.objects.create(
        creator=monthly.creator, product=monthly.plan.product, renewal_reminder_days=3
    )
    assert _run(RENEWAL - timedelta(days=3)) == 1


def test_zero_turns_reminders_off_and_only_active_subscriptions_are_reminded():
    off = _yearly()
    RecoveryPolicy.objects.create(
        creator=off.creator, product=off.plan.product, renewal_reminder_days=0
    )
    late = _yearly()
    late.status = Status.DELAYED
    late.save(update_fields=["status"])
    assert _run(RENEWAL - timedelta(days=2)) == 0
    assert mail.outbox == []


def test_the_next_renewal_is_reminded_again():
    sub = _yearly()
    _run(RENEWAL - timedelta(days=7))
    sub.next_charge_date = date(2028, 3, 10)
    sub.save(update_fields=["next_charge_date"])
    assert _run(date(2028, 3, 4)) == 1
    assert len(mail.outbox) == 2


def test_the_reminder_event_goes_through_the_outbox_like_every_event():
    sub = _yearly()
    _run(RENEWAL - timedelta(days=7))  # published at commit, processed by the (eager) worker
    event = SubscriptionEvent.objects.get(subscription=sub, type="renewal.upcoming")
    assert event.processed_at is not None
    assert not event_process(event_id=event.pk)  # processed once
    assert NoticeSent.objects.get(event=event).sent_at is not None
    assert "renewal.upcoming" in SEGMENTATION_EVENT_TRIGGERS


@pytest.mark.parametrize(
    ("period", "days", "expected"),
    [
        (Period.YEARLY, None, 7),
        (Period.MONTHLY, None, None),
        (Period.MONTHLY, 0, None),
        (Period.MONTHLY, 5, 5),
        (Period.WEEKLY, 7, None),
        (Period.WEEKLY, 2, 2),
        (Period.QUARTERLY, 30, 30),
    ],
)
def test_the_rule(period, days, expected):  # type: ignore[no-untyped-def]
    policy = RecoveryPolicy(renewal_reminder_days=days)
    assert reminder_days(period=period, policy=policy) == expected
