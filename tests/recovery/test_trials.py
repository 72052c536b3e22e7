"""Free trials (subscriptions/trials.py): nothing charged at the sale, the first charge by
the renewal job on the trial's end, once per subscriber and product, with or without a
card, the reminder, and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from core.errors import DomainError
from recovery.reminders import renewal_reminders_send
from subscriptions import renewals
from subscriptions.models import Charge, Status, SubscriptionEvent
from subscriptions.services import SubscriberData, subscription_create
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory
from tests.recovery.conftest import process_events

pytestmark = pytest.mark.django_db

SALE = date(2026, 3, 1)
END = date(2026, 3, 15)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


def _plan(**kw):  # type: ignore[no-untyped-def]
    fields = {"price": Decimal("49.90"), "period": "monthly", "trial_days": 14, **kw}
    return PlanFactory(product=ProductFactory(), **fields)


def _sale(plan, email="ana@example.com", pm="pm_sandbox_ok", day=SALE):  # type: ignore[no-untyped-def]
    with time_machine.travel(noon(day), tick=False):
        return subscription_create(
            creator=plan.creator,
            plan=plan,
            subscriber=SubscriberData(email=email, name="Ana", locale="en"),
            payment_method=pm,
        )


def _types(sub) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        SubscriptionEvent.objects.filter(subscription=sub)
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_the_worked_example_trial_then_converted_by_the_renewal_job():
    plan = _plan()
    sub = _sale(plan)
    assert (sub.status, sub.trial_ends_on, sub.next_charge_date, sub.paid_through) == (
        Status.ACTIVE,
        END,
        END,
        END,
    )
    assert not Charge.objects.filter(subscription=sub).exists()
    assert _types(sub) == ["subscription.created", "trial.started"]
    started = SubscriptionEvent.objects.get(subscription=sub, type="trial.started")
    assert started.data == {"trial_ends_on": "2026-03-15", "days": 14, "card": True}

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert renewal_reminders_send(now=noon(date(2026, 3, 11))) == 0
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert renewal_reminders_send(now=noon(date(2026, 3, 12))) == 1
    [message] = mail.outbox
    assert message.subject == f"Your free trial of {plan.product.name} ends on March 15, 2026"
    assert "Amount: 49.90 BRL" in message.body
    assert "your saved card is charged that day" in message.body
    ending = SubscriptionEvent.objects.get(subscription=sub, type="trial.ending")
    assert ending.data["days_before"] == 3 and ending.data["card"] is True

    with time_machine.travel(noon(END), tick=False):
        renewals.renewals_run()
    [charge] = Charge.objects.filter(subscription=sub)
    assert (charge.kind, charge.amount, charge.period_start, charge.period_end) == (
        "renewal",
        Decimal("49.90"),
        END,
        date(2026, 4, 15),
    )
    sub.refresh_from_db()
    assert (sub.recurrence, sub.next_charge_date) == (1, date(2026, 4, 15))
    converted = SubscriptionEvent.objects.get(subscription=sub, type="trial.converted")
    assert converted.data == {"trial_ended_on": "2026-03-15"}
    with time_machine.travel(noon(date(2026, 4, 15)), tick=False):
        renewals.renewals_run()
    assert SubscriptionEvent.objects.filter(subscription=sub, type="trial.converted").count() == 1


def test_one_trial_per_subscriber_and_product():
    plan = _plan()
    first = _sale(plan)
    other_plan = PlanFactory(product=plan.product, trial_days=30, price=Decimal("99.00"))
    second = _sale(other_plan, day=date(2026, 3, 2))
    assert first.trial_ends_on == END
    assert second.trial_ends_on is None
    assert Charge.objects.get(subscription=second).status == "succeeded"
    elsewhere = _sale(_plan(), day=date(2026, 3, 2))  # another product: a trial again
    assert elsewhere.trial_ends_on is not None


def test_without_a_card_the_end_is_a_hard_decline_answered_from_the_link():
    plan = _plan(trial_requires_card=False)
    sub = _sale(plan, pm="")
    assert sub.payment_method == "" and sub.trial_ends_on == END
    with pytest.raises(DomainError):
        _sale(_plan(), pm="")  # a card is required by default
    with pytest.raises(DomainError) as again:
        _sale(plan, pm="", day=date(2026, 3, 2))  # no second trial, and no card to charge
    assert again.value.code == "invalid_payment_method"

    with time_machine.travel(noon(END), tick=False):
        renewals.renewals_run()
        process_events(sub)
    sub.refresh_from_db()
    assert sub.status == Status.DELAYED
    assert sub.retries_stopped_code == "no_payment_method"
    [charge] = Charge.objects.filter(subscription=sub)
    assert charge.status == "declined"
    assert "pay" in mail.outbox[-1].body.lower() and "/pay/" in mail.outbox[-1].body


def test_trials_through_the_api():
    product = ProductFactory()
    client = api_client(product.creator)
    with time_machine.travel(noon(SALE), tick=False):
        bad = client.post(
            "/api/v1/plans",
            {
                "product": str(product.uuid), "name": "Trial", "price": "49.90",
                "currency": "BRL", "period": "monthly", "trial_days": 91,
            },
            format="json",
        )  # fmt: skip
        assert bad.status_code == 400
        created = client.post(
            "/api/v1/plans",
            {
                "product": str(product.uuid), "name": "Trial", "price": "49.90",
                "currency": "BRL", "period": "monthly", "trial_days": 14,
                "trial_requires_card": False,
            },
            format="json",
        )  # fmt: skip
        assert created.status_code == 201, created.content
        assert (created.json()["trial_days"], created.json()["trial_requires_card"]) == (14, False)
        sale = client.post(
            "/api/v1/subscriptions",
            {
                "plan": created.json()["id"],
                "subscriber": {"email": "bia@example.com", "name": "Bia"},
                "payment_method": "",
            },
            format="json",
        )
    assert sale.status_code == 201, sale.content
    body = sale.json()
    assert (body["status"], body["next_charge_date"], body["paid_through"]) == (
        "ACTIVE",
        "2026-03-15",
        "2026-03-15",
    )
