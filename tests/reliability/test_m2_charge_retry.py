"""M2: a renewal charge that meets a gateway timeout is retried with the same idempotency
key and identical parameters.

The whole path is real: the `renewals` scheduled job (as beat runs it, through the
`run_scheduled_job` task) → renewals.run → the Stripe gateway → the `stripe` package's
HTTP client, against a local server that answers as Stripe does. The first answer comes
after the client's timeout (Stripe did charge: the answer is a succeeded PaymentIntent),
so only the idempotency key keeps the retry from charging twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from accounts.models import Creator
from subscriptions.models import Charge, Status
from subscriptions.tasks import run_scheduled_job
from tests.factories import CreatorFactory, PlanFactory, SubscriberFactory, SubscriptionFactory
from tests.subscriptions import stripe_server as ss

pytestmark = pytest.mark.django_db

DUE = date(2026, 2, 10)
NOON_SAO_PAULO = datetime(2026, 2, 10, 15, tzinfo=UTC)


@pytest.fixture
def fake_stripe(settings):  # type: ignore[no-untyped-def]
    with ss.running(settings) as fake:  # client timeout 0.5 s
        yield fake


def _stripe_subscription():  # type: ignore[no-untyped-def]
    creator = CreatorFactory(
        gateway=Creator.Gateway.STRIPE,
        gateway_credentials={"secret_key": "sk_test_51Nabc0123456789", "webhook_secret": "w"},
    )
    plan = PlanFactory(product__creator=creator, price=Decimal("49.90"), currency="BRL")
    subscriber = SubscriberFactory(creator=creator, gateway_customer_id="cus_NffrFeUfNV2Hib")
    return SubscriptionFactory(
        plan=plan,
        subscriber=subscriber,
        payment_method="pm_1MtwBwLkdIwHu7ixgW7QxA9P",
        billing_anchor=date(2026, 1, 10),
        started_at=datetime(2026, 1, 10, 15, tzinfo=UTC),
        next_charge_date=DUE,
        paid_through=DUE,
    )


def test_renewal_retried_after_a_gateway_timeout_reuses_key_and_parameters(fake_stripe):
    subscription = _stripe_subscription()
    fake_stripe.then(ss.succeeded, delay=1.5).then(ss.succeeded)

    with time_machine.travel(NOON_SAO_PAULO, tick=False):
        run_scheduled_job("renewals")
    subscription.refresh_from_db()
    (charge,) = Charge.objects.filter(subscription=subscription)
    # A timeout is neither paid nor declined: the charge stays open for the retry.
    assert charge.status == Charge.Status.FAILED
    assert (subscription.status, subscription.next_charge_date) == (Status.ACTIVE, DUE)
    assert len(fake_stripe.requests) == 1, charge.failure_message

    with time_machine.travel(NOON_SAO_PAULO.replace(hour=16), tick=False):
        run_scheduled_job("renewals")

    first, retry = fake_stripe.requests
    assert first.path == retry.path == "/v1/payment_intents"
    assert first.header("Idempotency-Key") == retry.header("Idempotency-Key")
    assert first.header("Idempotency-Key") == charge.idempotency_key
    assert first.body == retry.body  # identical parameters, byte for byte
    assert first.params["amount"] == "4990" and first.params["currency"] == "brl"
    # One charge row, settled by the retry; the subscription moved one period.
    (paid,) = Charge.objects.filter(subscription=subscription)
    assert (paid.pk, paid.idempotency_key, paid.status) == (
        charge.pk,
        charge.idempotency_key,
        Charge.Status.SUCCEEDED,
    )
    subscription.refresh_from_db()
    assert subscription.next_charge_date == date(2026, 3, 10)
    assert subscription.status == Status.ACTIVE
