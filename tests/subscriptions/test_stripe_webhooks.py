"""Inbound Stripe webhooks, signed exactly as Stripe signs them (HMAC-SHA256 of `t.payload`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Creator
from subscriptions.charges import charge_refund
from subscriptions.models import Charge, StripeWebhookEvent, SubscriptionEvent
from subscriptions.stripe_webhooks import stripe_webhook_process
from tests.factories import TEST_ACTOR, ChargeFactory, CreatorFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

WHSEC = "whsec_5c1e0a6f3b2d4e8f9a7b6c5d4e3f2a1b"
PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"


@pytest.fixture
def stripe_creator(db):  # type: ignore[no-untyped-def]
    return CreatorFactory(
        gateway=Creator.Gateway.STRIPE,
        gateway_credentials={"secret_key": "sk_test_51Nabc", "webhook_secret": WHSEC},
    )


@pytest.fixture
def charge(stripe_creator):  # type: ignore[no-untyped-def]
    sub = SubscriptionFactory(plan__product__creator=stripe_creator, payment_method="pm_1Mtw")
    return ChargeFactory(subscription=sub, gateway="stripe", gateway_reference=PI)


def _event(event_id: str, type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def _refunded(event_id: str = "evt_1NG8Du2eZvKYlo2CUI79vXWy", pi: str = PI, full: bool = True):  # type: ignore[no-untyped-def]
    return _event(
        event_id,
        "charge.refunded",
        {
            "id": "ch_3MtwBwLkdIwHu7ix0snN0B15",
            "object": "charge",
            "amount": 4990,
            "amount_refunded": 4990 if full else 1000,
            "currency": "brl",
            "paid": True,
            "payment_intent": pi,
            "refunded": full,
            "status": "succeeded",
        },
    )


def _dispute(event_id: str = "evt_1NG8Du2eZvKYlo2CDisp0001"):  # type: ignore[no-untyped-def]
    return _event(
        event_id,
        "charge.dispute.created",
        {
            "id": "dp_1MtwBwLkdIwHu7ixDispute1",
            "object": "dispute",
            "amount": 4990,
            "charge": "ch_3MtwBwLkdIwHu7ix0snN0B15",
            "currency": "brl",
            "payment_intent": PI,
            "reason": "fraudulent",
            "status": "needs_response",
        },
    )


def _sign(payload: str, secret: str = WHSEC, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    sig = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={sig}"


def _post(creator: Creator, payload: str, signature: str | None = None):  # type: ignore[no-untyped-def]
    return Client().post(
        reverse("stripe-webhook", args=[creator.uuid]),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_sign(payload) if signature is None else signature,
    )


def _deliver(creator: Creator, event: dict[str, Any]):  # type: ignore[no-untyped-def]
    return _post(creator, json.dumps(event))


def test_signed_refund_delivered_twice_records_one_refund(stripe_creator, charge):
    event = _refunded()

    first = _deliver(stripe_creator, event)
    second = _deliver(stripe_creator, event)

    assert (first.status_code, first.json()["outcome"]) == (200, "applied")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    charge.refresh_from_db()
    assert charge.status == Charge.Status.REFUNDED
    refunds = SubscriptionEvent.objects.filter(type="charge.refunded")
    assert refunds.count() == 1
    assert refunds.get().data["charge"] == str(charge.uuid)
    assert refunds.get().data["actor"] == "stripe"
    assert StripeWebhookEvent.objects.filter(creator=stripe_creator).count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda p: _sign(p, secret="whsec_someone_else"), id="wrong-secret"),
        pytest.param(lambda p: _sign(p, timestamp=int(time.time()) - 301), id="too-old"),
        pytest.param(lambda p: _sign(p + " "), id="other-payload"),
        pytest.param(lambda p: "", id="missing"),
        pytest.param(lambda p: "t=abc,v1=zzz", id="garbage"),
    ],
)
def test_bad_signature_is_refused_and_changes_nothing(stripe_creator, charge, signature):
    payload = json.dumps(_refunded())

    response = _post(stripe_creator, payload, signature(payload))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook"
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED
    assert not SubscriptionEvent.objects.filter(type="charge.refunded").exists()
    assert not StripeWebhookEvent.objects.exists()


def test_signature_within_tolerance_is_accepted(stripe_creator, charge):
    payload = json.dumps(_refunded())

    response = _post(stripe_creator, payload, _sign(payload, timestamp=int(time.time()) - 250))

    assert response.status_code == 200


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", '{"id": "evt_1"}'])
def test_signed_but_malformed_body_is_refused(stripe_creator, charge, payload):
    response = _post(stripe_creator, payload)

    assert response.status_code == 400
    assert not StripeWebhookEvent.objects.exists()


def test_creator_without_webhook_secret_refuses_deliveries(charge):
    creator = charge.creator
    creator.gateway_credentials = {"secret_key": "sk_test_51Nabc"}
    creator.save()

    response = _deliver(creator, _refunded())

    assert response.status_code == 400
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED


def test_dispute_records_a_chargeback(stripe_creator, charge):
    response = _deliver(stripe_creator, _dispute())

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    charge.refresh_from_db()
    assert charge.status == Charge.Status.CHARGEBACK
    chargeback = SubscriptionEvent.objects.get(type="charge.chargeback")
    assert chargeback.data["reason"] == "fraudulent"


def test_unknown_event_type_is_acknowledged_and_ignored(stripe_creator, charge):
    event = _event("evt_1Other", "customer.updated", {"id": "cus_1", "object": "customer"})

    response = _deliver(stripe_creator, event)

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED


def test_refund_of_an_unknown_charge_is_acknowledged_and_logged(stripe_creator, charge, caplog):
    with caplog.at_level(logging.WARNING, logger="subscriptions.stripe_webhooks"):
        response = _deliver(stripe_creator, _refunded(pi="pi_not_ours"))

    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_charge")
    assert "pi_not_ours" in caplog.text
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED


def test_another_creators_charge_is_never_touched(stripe_creator, charge):
    other = CreatorFactory(
        gateway=Creator.Gateway.STRIPE,
        gateway_credentials={"secret_key": "sk_test_other", "webhook_secret": WHSEC},
    )

    response = _deliver(other, _refunded())

    assert response.json()["outcome"] == "unknown_charge"
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED


def test_partial_refund_is_not_recorded_as_a_refund(stripe_creator, charge):
    response = _deliver(stripe_creator, _refunded(full=False))

    assert (response.status_code, response.json()["outcome"]) == (200, "partial_refund_ignored")
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED


def test_refund_made_here_then_confirmed_by_stripe_is_recorded_once(stripe_creator, charge):
    charge_refund(charge=charge, call_gateway=False, actor=TEST_ACTOR)

    response = _deliver(stripe_creator, _refunded())

    assert (response.status_code, response.json()["outcome"]) == (200, "already_recorded")
    assert SubscriptionEvent.objects.filter(type="charge.refunded").count() == 1


def test_get_is_not_allowed_and_unknown_creator_is_404(stripe_creator):
    client = Client()
    assert client.get(reverse("stripe-webhook", args=[stripe_creator.uuid])).status_code == 405
    missing = "00000000-0000-4000-8000-000000000000"
    payload = json.dumps(_refunded())
    response = client.post(
        reverse("stripe-webhook", args=[missing]),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_sign(payload),
    )
    assert response.status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_redeliveries_apply_the_event_once(stripe_creator, charge):
    """Stripe may deliver the same event to two workers at once: the unique event row makes
    the second wait for the first and then see a duplicate."""
    payload = json.dumps(_refunded())
    signature = _sign(payload)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=5)
            result = stripe_webhook_process(
                creator=stripe_creator, payload=payload.encode(), signature=signature
            )
            outcomes.append(result.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["applied", "duplicate"]
    assert SubscriptionEvent.objects.filter(type="charge.refunded").count() == 1


def test_card_updater_lifts_a_hard_decline_and_records_the_update(stripe_creator):
    sub = SubscriptionFactory(
        plan__product__creator=stripe_creator,
        payment_method="pm_1CardUpdated",
        status="DELAYED",
        retries_stopped_code="expired_card",
    )
    other = SubscriptionFactory(
        payment_method="pm_1CardUpdated", retries_stopped_code="expired_card"
    )
    payload = json.dumps(
        _event(
            "evt_1CardUpdater",
            "payment_method.automatically_updated",
            {
                "id": "pm_1CardUpdated",
                "object": "payment_method",
                "type": "card",
                "card": {"brand": "visa", "exp_month": 8, "exp_year": 2030, "last4": "4242"},
            },
        )
    )
    answer = _post(stripe_creator, payload)
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied"
    sub.refresh_from_db()
    assert sub.retries_stopped_code == ""
    event = sub.events.get(type="payment_method.updated")
    assert event.data["source"] == "stripe_card_updater" and event.data["last4"] == "4242"
    assert sub.card_expires_on == date(2030, 8, 31)  # the new expiry, for the notice
    other.refresh_from_db()
    assert other.retries_stopped_code == "expired_card"  # another creator's: untouched
    assert _post(stripe_creator, payload).json()["outcome"] == "duplicate"
