"""Card-expiring notices (recovery/card_notices.py): when, once, in the subscriber's
language, and the card link that replaces the card without charging it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.test import Client, TestCase

from recovery.card_notices import card_expiry_notices_send, warn_from
from recovery.models import PaymentLink
from subscriptions.events import SEGMENTATION_EVENT_TRIGGERS, WEBHOOK_EVENT_TYPES
from subscriptions.models import Charge, RecoveryPolicy, Status, SubscriptionEvent
from subscriptions.services import subscription_payment_method_set
from tests.factories import SubscriptionFactory
from tests.recovery.conftest import at

pytestmark = pytest.mark.django_db

EXPIRES = date(2027, 1, 31)  # a card expiring 01/2027
LINK = re.compile(r"http://[^\s\"<]+/pay/([A-Za-z0-9_-]{43})/")


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # noon in São Paulo


def _subscription(locale: str = "en", **kw):  # type: ignore[no-untyped-def]
    fields = {
        "billing_anchor": date(2026, 6, 15),
        "next_charge_date": date(2026, 12, 15),
        "paid_through": date(2026, 12, 15),
        "payment_method": "pm_sandbox_ok",
        "card_expires_on": EXPIRES,
        "subscriber__locale": locale,
        "subscriber__name": "Ana",
    }
    return SubscriptionFactory(**{**fields, **kw})


def _run(day: date) -> int:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return card_expiry_notices_send(now=noon(day))


def _page(message) -> str:  # type: ignore[no-untyped-def]
    match = LINK.search(message.body)
    assert match, message.body
    return f"/pay/{match.group(1)}/"


def test_a_card_expiring_next_month_is_warned_once_from_the_first_of_the_month():
    sub = _subscription()
    assert _run(date(2026, 11, 30)) == 0
    assert _run(date(2026, 12, 1)) == 1
    assert _run(date(2026, 12, 1)) == 0  # a second run, the same day
    assert _run(date(2027, 1, 20)) == 0  # and later days

    [message] = mail.outbox
    assert message.to == [sub.subscriber.email]
    assert message.subject == f"Your card for {sub.plan.product.name} expires soon"
    assert "Hello Ana," in message.body
    assert "expires at the end of January 2027" in message.body
    assert "Nothing is charged when you save the new card" in message.body
    [event] = SubscriptionEvent.objects.filter(subscription=sub, type="payment_method.expiring")
    assert event.data == {"expires_on": "2027-01-31", "exp_month": 1, "exp_year": 2027}
    sub.refresh_from_db()
    assert sub.card_expiry_noticed_for == EXPIRES
    assert "payment_method.expiring" in SEGMENTATION_EVENT_TRIGGERS
    assert "payment_method.expiring" in WEBHOOK_EVENT_TYPES


def test_in_portuguese():
    _subscription(locale="pt-BR")
    _run(date(2026, 12, 3))
    [message] = mail.outbox
    assert message.subject.startswith("Seu cartão para")
    assert "janeiro de 2027" in message.body


def test_only_live_subscriptions_with_a_known_expiry_and_a_renewal_ahead_are_warned():
    _subscription(status=Status.CANCELLED_BY_CUSTOMER)
    _subscription(card_expires_on=None)
    _subscription(next_charge_date=None)
    _subscription(card_expires_on=date(2027, 3, 31))  # not next month yet
    late = _subscription(status=Status.DELAYED)
    assert _run(date(2026, 12, 10)) == 1
    [message] = mail.outbox
    assert message.to == [late.subscriber.email]


def test_the_product_can_turn_the_email_off_and_the_event_still_reaches_rules():
    sub = _subscription()
    RecoveryPolicy.objects.create(
        creator=sub.creator, product=sub.plan.product, send_card_expiring_email=False
    )
    assert _run(date(2026, 12, 10)) == 1
    assert mail.outbox == []
    assert SubscriptionEvent.objects.filter(type="payment_method.expiring").count() == 1
    assert not PaymentLink.objects.exists()


def test_a_new_card_is_warned_of_again_when_it_too_expires():
    sub = _subscription()
    _run(date(2026, 12, 10))
    subscription_payment_method_set(
        subscription=sub,
        payment_method="pm_sandbox_ok",
        data={"source": "test", "exp_month": 6, "exp_year": 2029},
    )
    assert _run(date(2029, 5, 2)) == 1
    assert len(mail.outbox) == 2


def test_the_link_saves_a_new_card_and_charges_nothing():
    sub = _subscription()
    _run(date(2026, 12, 10))
    page = _page(mail.outbox[0])
    with at(date(2026, 12, 11)):
        shown = Client().get(page)
        assert shown.status_code == 200
        text = shown.content.decode()
        assert "Replace your card for" in text
        assert "expires at the end of January 2027" in text
        assert "Amount due" not in text

        bad = Client().post(page, {"payment_method": "not-a-card"})
        assert bad.status_code == 400
        assert "cannot be used" in bad.content.decode()

        saved = Client().post(page, {"payment_method": "pm_sandbox_insufficient_funds"})
        assert saved.status_code == 200
        assert "Card saved" in saved.content.decode()
        assert "It will be charged on Dec. 15, 2026." in saved.content.decode()

        again = Client().get(page)
    assert again.status_code == 410
    assert "already uses a new card" in again.content.decode()
    sub.refresh_from_db()
    assert sub.payment_method == "pm_sandbox_insufficient_funds"
    assert sub.card_expires_on is None  # the sandbox reports no expiry
    assert not Charge.objects.filter(subscription=sub).exists()
    [updated] = SubscriptionEvent.objects.filter(subscription=sub, type="payment_method.updated")
    assert updated.data["source"] == "card_link"


def test_the_link_is_done_when_the_card_changes_elsewhere_and_closes_with_the_subscription():
    sub = _subscription()
    other = _subscription()
    _run(date(2026, 12, 10))
    first, second = (_page(m) for m in mail.outbox)
    if mail.outbox[0].to != [sub.subscriber.email]:
        first, second = second, first
    subscription_payment_method_set(
        subscription=sub,
        payment_method="pm_sandbox_ok",
        data={"source": "stripe_card_updater", "exp_month": 1, "exp_year": 2030},
    )
    other.status = Status.CANCELLED_BY_CUSTOMER
    other.save(update_fields=["status"])
    with at(date(2026, 12, 11)):
        assert "already uses a new card" in Client().get(first).content.decode()
        closed = Client().get(second)
    assert closed.status_code == 410
    assert "no card to replace" in closed.content.decode()


def test_the_link_expires_with_the_card():
    _subscription()
    _run(date(2026, 12, 10))
    page = _page(mail.outbox[0])
    with at(date(2027, 2, 1)):
        gone = Client().get(page)
    assert gone.status_code == 410
    assert "has expired" in gone.content.decode()


@pytest.mark.parametrize(
    ("expires", "first_day"),
    [
        (date(2027, 1, 31), date(2026, 12, 1)),
        (date(2027, 3, 31), date(2027, 2, 1)),
        (date(2028, 2, 29), date(2028, 1, 1)),
    ],
)
def test_the_rule(expires, first_day):  # type: ignore[no-untyped-def]
    assert warn_from(expires) == first_day
