"""A PaymentIntent Stripe leaves `processing` (bank debits) settles through the
`payment_intent.succeeded` / `payment_intent.payment_failed` webhooks, never as a
decline on the next attempt's day (docs.stripe.com/payments/paymentintents/lifecycle).

Against the stateful fake Stripe (tests/subscriptions/stripe_server.py: StripeLedger),
which replays the first answer to a key (so `processing` again) and serves
`GET /v1/payment_intents/<id>` with the PaymentIntent's status now."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from subscriptions import renewals
from subscriptions.models import Charge, Status, Subscription
from tests.subscriptions import stripe_server as ss
from tests.subscriptions.test_stripe_outage import DUE, START, _stripe_subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(settings) -> Iterator[ss.FakeStripe]:  # type: ignore[no-untyped-def]
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the settlement task runs as a worker would
    with ss.running(settings) as fake:
        fake.default = ss.StripeLedger()
        fake.default.processing = True
        yield fake
    app.conf.task_always_eager = previous


def _deliver(subscription: Subscription, event_id: str, type: str, intent: dict) -> dict:  # type: ignore[type-arg]
    payload = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type,
            "created": int(time.time()),
            "data": {"object": intent},
        }
    )
    t = int(time.time())
    secret = subscription.creator.gateway_credentials["webhook_secret"]
    signature = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    response = Client().post(
        reverse("stripe-webhook", args=[subscription.creator.uuid]),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={t},v1={signature}",
    )
    assert response.status_code == 200
    return response.json()


def _types(subscription: Subscription) -> list[str]:
    return list(subscription.events.order_by("id").values_list("type", flat=True))


def _processing_for_days(subscription: Subscription, days: int) -> Charge:
    for day in range(days):
        with time_machine.travel(START + timedelta(days=day), tick=False):
            renewals.renewals_run()
            renewals.retries_run()
    [charge] = Charge.objects.filter(subscription=subscription)
    return charge


def test_a_processing_debit_stays_open_past_the_retry_day_then_succeeds_by_webhook(
    ledger, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    sub = _stripe_subscription()
    before = _types(sub)
    charge = _processing_for_days(sub, 3)  # due date, then two retry days

    assert charge.status == Charge.Status.FAILED  # open: processing, not an error
    assert charge.gateway_reference.startswith("pi_")
    sub.refresh_from_db()
    assert (sub.status, sub.next_charge_date) == (Status.ACTIVE, DUE)
    assert _types(sub) == before  # no charge.failed: nothing failed
    assert len(ledger.default.intents) == 1

    intent = ledger.default.settle(charge.gateway_reference, "succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _deliver(sub, "evt_1ProcOk000000001", "payment_intent.succeeded", intent)

    assert answer["outcome"] == "settling"
    charge.refresh_from_db()
    sub.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED
    assert (sub.status, sub.paid_through) == (Status.ACTIVE, date(2026, 3, 10))
    assert _types(sub)[len(before) :] == ["charge.succeeded", "subscription.renewed"]
    assert len(ledger.default.intents) == 1  # read back, never created again
    # Stripe sends the event again (or for a payment we settled ourselves): nothing more.
    again = _deliver(sub, "evt_1ProcOk000000002", "payment_intent.succeeded", intent)
    assert again["outcome"] == "already_settled"
    assert Charge.objects.filter(subscription=sub).count() == 1


def test_a_processing_debit_that_fails_is_a_decline_with_its_code(
    ledger, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    sub = _stripe_subscription()
    charge = _processing_for_days(sub, 1)
    intent = ledger.default.settle(
        charge.gateway_reference,
        "requires_payment_method",
        last_payment_error={
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "The account has insufficient funds.",
            "type": "card_error",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(sub, "evt_1ProcNo000000001", "payment_intent.payment_failed", intent)

    charge.refresh_from_db()
    sub.refresh_from_db()
    assert charge.status == Charge.Status.DECLINED
    assert sub.status == Status.DELAYED
    [failed] = sub.events.filter(type="charge.failed")
    assert failed.data["attempt"] == 1
    assert "insufficient funds" in failed.data["message"]


def test_without_the_webhook_the_next_try_reads_the_final_status(ledger):  # type: ignore[no-untyped-def]
    sub = _stripe_subscription()
    charge = _processing_for_days(sub, 1)
    ledger.default.settle(charge.gateway_reference, "succeeded")
    with time_machine.travel(START + timedelta(days=1, hours=2), tick=False):
        renewals.renewals_run()
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED
    reads = [
        r
        for r in ledger.requests
        if r.method == "GET" and r.path.startswith("/v1/payment_intents/")
    ]
    assert reads  # a GET of the PaymentIntent, not a replayed POST
