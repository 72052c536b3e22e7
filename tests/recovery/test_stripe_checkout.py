"""Stripe creators: the payment page sends the subscriber to a Stripe-hosted Checkout
Session in `setup` mode; its `checkout.session.completed` webhook saves the card, and
the recovery app then pays what is due with it (SPEC §4.6). Stripe is the local fake
that answers as Stripe's API reference documents."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Creator
from subscriptions import renewals
from subscriptions.models import Charge, Status
from tests.factories import CreatorFactory, PlanFactory, SubscriberFactory, SubscriptionFactory
from tests.recovery.conftest import DUE, at, noon, process_events, token_from_last_email
from tests.subscriptions import stripe_server as ss

pytestmark = pytest.mark.django_db

WHSEC = "whsec_5c1e0a6f3b2d4e8f9a7b6c5d4e3f2a1b"
CUSTOMER = "cus_NffrFeUfNV2Hib"
CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"
NEW_CARD = ss.card_method("pm_1NewCardLkdIwHu7", exp_month=3, exp_year=2028, last4="4444")


def _session(recorded: ss.Recorded) -> tuple[int, dict]:
    return 200, {
        "id": "cs_test_a1b2c3",
        "object": "checkout.session",
        "mode": "setup",
        "customer": recorded.params.get("customer"),
        "setup_intent": "seti_1Mtw",
        "status": "open",
        "success_url": recorded.params.get("success_url"),
        "cancel_url": recorded.params.get("cancel_url"),
        "url": CHECKOUT_URL,
        "metadata": {
            k[len("metadata[") : -1]: v for k, v in recorded.form if k.startswith("metadata[")
        },
    }


def _setup_intent(recorded: ss.Recorded) -> tuple[int, dict]:
    method: object = "pm_1NewCardLkdIwHu7"
    if recorded.params.get("expand[0]") == "payment_method":  # as Stripe expands it
        method = NEW_CARD
    return 200, {
        "id": "seti_1Mtw",
        "object": "setup_intent",
        "customer": CUSTOMER,
        "payment_method": method,
        "status": "succeeded",
        "usage": "off_session",
    }


def _signed_post(creator: Creator, event: dict) -> object:
    payload = json.dumps(event)
    t = int(time.time())
    sig = hmac.new(WHSEC.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return Client().post(
        reverse("stripe-webhook", args=[creator.uuid]),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={t},v1={sig}",
    )


def test_a_new_card_from_stripe_checkout_pays_the_late_renewal(settings, mailoutbox):
    creator = CreatorFactory(
        gateway=Creator.Gateway.STRIPE,
        gateway_credentials={"secret_key": "sk_test_51Nabc0123456789", "webhook_secret": WHSEC},
    )
    sub = SubscriptionFactory(
        plan=PlanFactory(product__creator=creator),
        subscriber=SubscriberFactory(creator=creator, gateway_customer_id=CUSTOMER),
        payment_method="pm_1OldCardLkdIwHu7",
        billing_anchor=date(2026, 1, 10),
        started_at=noon(date(2026, 1, 10)),
        next_charge_date=DUE,
        paid_through=DUE,
    )
    with ss.running(settings) as fake:
        fake.payment_methods[NEW_CARD["id"]] = (200, NEW_CARD)
        fake.then(
            ss.card_error(
                "card_declined", "insufficient_funds", "Your card has insufficient funds."
            )
        )
        with at(DUE):
            renewals.renewals_run()
            process_events(sub)
        token = token_from_last_email()
        page = f"/pay/{token}/"

        with at(date(2026, 2, 12)):
            shown = Client().get(page)
            assert "Enter a new card and pay" in shown.content.decode()
            assert "js.stripe.com" not in shown.content.decode()
            fake.then(_session)
            answer = Client().post(page)
        assert answer.status_code == 303 and answer["Location"] == CHECKOUT_URL
        created = fake.requests[-1]
        assert (created.method, created.path) == ("POST", "/v1/checkout/sessions")
        assert created.params["mode"] == "setup"
        assert created.params["customer"] == CUSTOMER
        assert created.params["success_url"].endswith(f"{page}?checkout=done")
        assert created.params["metadata[subscription]"] == str(sub.uuid)

        # The subscriber saves a card on Stripe's page; Stripe calls our webhook.
        event = {
            "id": "evt_1Checkout",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": _session(created)[1] | {"status": "complete"}},
        }
        fake.then(_setup_intent)
        with at(date(2026, 2, 12)):
            hook = _signed_post(creator, event)
            assert hook.status_code == 200 and hook.json()["outcome"] == "applied"
            # The lookup of an earlier payment for the period, then the charge itself.
            fake.then(ss.no_payment_intents).then(ss.succeeded)
            process_events(sub)
            again = _signed_post(creator, event)  # Stripe delivers at least once
        assert again.json()["outcome"] == "duplicate"

    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
    assert sub.payment_method == "pm_1NewCardLkdIwHu7"
    assert (sub.billing_anchor, sub.paid_through) == (date(2026, 1, 10), date(2026, 3, 10))
    paid = Charge.objects.get(subscription=sub, status="succeeded")
    assert paid.kind == "retry"
    charged = [r for r in fake.requests if r.path == "/v1/payment_intents" and r.method == "POST"]
    assert charged[-1].params["payment_method"] == "pm_1NewCardLkdIwHu7"
    [updated] = sub.events.filter(type="payment_method.updated")
    assert updated.data["last4"] == "4444"
    assert sub.card_expires_on == date(2028, 3, 31)  # read from the saved card
    with at(date(2026, 2, 12)):
        assert Client().get(page).status_code == 410
