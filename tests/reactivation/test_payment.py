"""A declined reactivate-and-charge links to the payment page, where another card
reactivates the subscription (SPEC §4.6, §6.1)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import time_machine
from django.test import Client

from reactivation import services
from reactivation.models import ReactivationRequest
from subscriptions.models import Charge, Status, Subscription
from tests.factories import labelled_actor
from tests.reactivation.factories import at, page_url, seed_subscription, token_from_last_email

pytestmark = pytest.mark.django_db

PAY_LINK = re.compile(r'href="(http://[^"]+/pay/[A-Za-z0-9_-]{43}/)"')


@pytest.fixture
def declined(mailoutbox, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """The seed's subscription (cancelled Apr 15); a reactivate-and-charge sent May 19,
    accepted May 20 with a card that is declined. Returns (subscription, request, pay URL)."""
    subscription = seed_subscription()
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_sandbox_declined")
    with (
        time_machine.travel(at(2026, 5, 19), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        request = services.reactivation_request_create(
            subscription=subscription, mode="reactivate_and_charge", actor=labelled_actor("test")
        )
    token = token_from_last_email()
    with time_machine.travel(at(2026, 5, 20), tick=False):
        answer = Client().post(page_url(token), {"decision": "accept"})
    body = answer.content.decode()
    assert "still cancelled" in body and "Pay with another card" in body
    found = PAY_LINK.search(body)
    assert found, body
    return subscription, request, found.group(1).split("127.0.0.1:8000")[-1]


def test_another_card_reactivates_on_the_day_paid_and_charges_once(declined):
    subscription, request, pay = declined
    with time_machine.travel(at(2026, 5, 21), tick=False):
        page = Client().get(pay)
        assert page.status_code == 200
        assert "Reactivate your subscription to" in page.content.decode()
        paid = Client().post(pay, {"payment_method": "pm_sandbox_ok"})
    assert paid.status_code == 200 and "active again" in paid.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    # Reactivated and charged on R = May 21: anchor R, next charge June 21.
    assert subscription.billing_anchor == date(2026, 5, 21)
    assert subscription.paid_through == subscription.next_charge_date == date(2026, 6, 21)
    assert subscription.payment_method == "pm_sandbox_ok"
    charges = Charge.objects.filter(subscription=subscription).order_by("created_at", "id")
    assert [(c.kind, c.status) for c in charges] == [
        ("reactivation", "declined"),
        ("reactivation", "succeeded"),
    ]
    assert ReactivationRequest.objects.get(pk=request.pk).status == "accepted"
    assert subscription.events.filter(type="subscription.reactivated").count() == 1
    assert subscription.events.filter(type="payment_method.updated").count() == 1
    # Paid: the link now says so, and a second payment is impossible.
    with time_machine.travel(at(2026, 5, 21, 16), tick=False):
        again = Client().post(pay, {"payment_method": "pm_sandbox_ok"})
    assert again.status_code == 410
    assert Charge.objects.filter(subscription=subscription, status="succeeded").count() == 1


def test_declined_again_keeps_it_cancelled_and_the_link_usable(declined):
    subscription, request, pay = declined
    with time_machine.travel(at(2026, 5, 21), tick=False):
        answer = Client().post(pay, {"payment_method": "pm_sandbox_insufficient_funds"})
        assert "The payment was not approved" in answer.content.decode()
        assert Client().get(pay).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELLED_BY_SELLER
    assert ReactivationRequest.objects.get(pk=request.pk).status == "failed"


def test_the_link_ends_with_the_requests_72_hours(declined):
    _, request, pay = declined
    with time_machine.travel(request.expires_at, tick=False):
        assert Client().get(pay).status_code == 410
