"""The Stripe gateway against localstripe (PyPI), a stateful fake Stripe written by others,
so our own fake (`stripe_server.py`) is not the only judge of the requests we send.

Each test goes through our real code paths and the real `stripe` package against a
localstripe server on 127.0.0.1, whose customers, PaymentMethods and PaymentIntents are
made with the same package, as a creator's Stripe account would hold them.

What localstripe cannot judge, and where it is judged instead (docs/recovery.md):
- it ignores `Idempotency-Key` (a repeated key creates a second PaymentIntent), so
  Stripe's documented replay is judged by `StripeLedger` in test_stripe_outage.py;
- it refuses `GET /v1/payment_intents?customer=` ("Unexpected customer"), the lookup a
  retry under a new key makes first; a retry there is a transient error and never
  charges, as it must be when the lookup fails (test_stripe_outage.py);
- it has no Checkout Sessions; the payment page's Stripe path is judged in
  tests/recovery/test_stripe_checkout.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
import stripe

from accounts.models import Creator
from subscriptions.charges import charge_refund
from subscriptions.gateways import get_gateway
from subscriptions.gateways.stripe import AUTHENTICATION_REQUIRED_MESSAGE, StripeGateway
from subscriptions.models import Charge, Status, Subscription
from subscriptions.services import SubscriberData, subscription_create
from tests.factories import SUPPORT_ACTOR, CreatorFactory, PlanFactory
from tests.redis_server import free_port

pytestmark = pytest.mark.django_db

SECRET = "sk_test_51Localstripe0123456789"
# Stripe's documented test cards (docs.stripe.com/testing), as localstripe implements them.
WORKS = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"  # attaches, then every charge is declined
NEEDS_AUTHENTICATION = "4000002500003155"  # 3-D Secure on every payment


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            _client(url).v1.balance.retrieve()
            break
        except stripe.APIConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def stripe_at(settings, localstripe_url: str) -> str:  # type: ignore[no-untyped-def]
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_TIMEOUT_SECONDS = 5
    return localstripe_url


def _client(url: str) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET, base_addresses={"api": url}, max_network_retries=0)


def _customer_with_card(url: str, number: str, *, exp: tuple[int, int] = (3, 2031)) -> tuple:
    """A Stripe customer with one saved card: (customer id, payment method id)."""
    client = _client(url)
    customer = client.v1.customers.create(params={"email": "ana@example.com"})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": exp[0], "exp_year": exp[1], "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    return customer.id, method.id


def _sale(url: str, number: str, **card) -> Subscription:  # type: ignore[no-untyped-def]
    creator = CreatorFactory(
        gateway=Creator.Gateway.STRIPE, gateway_credentials={"secret_key": SECRET}
    )
    customer, method = _customer_with_card(url, number, **card)
    plan = PlanFactory(
        product__creator=creator, price=Decimal("49.90"), currency="BRL", period="monthly"
    )
    return subscription_create(
        creator=creator,
        plan=plan,
        subscriber=SubscriberData(email="ana@example.com", gateway_customer_id=customer),
        payment_method=method,
    )


def test_a_sale_is_one_succeeded_payment_intent_for_the_amount(stripe_at):
    sub = _sale(stripe_at, WORKS, exp=(2, 2031))

    assert sub.status == Status.ACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.SUCCEEDED
    intent = _client(stripe_at).v1.payment_intents.retrieve(charge.gateway_reference)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 4990, "brl")
    assert intent.customer == sub.subscriber.gateway_customer_id
    assert intent.payment_method == sub.payment_method
    assert intent.metadata["subscription"] == str(sub.uuid)
    assert intent.metadata["charge"] == str(charge.uuid)
    sub.refresh_from_db()
    assert sub.card_expires_on == date(2031, 2, 28)  # read from the saved card


def test_a_card_declined_on_charge_makes_the_sale_inactive_with_the_reason(stripe_at):
    sub = _sale(stripe_at, DECLINED_ON_CHARGE)

    assert sub.status == Status.INACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.DECLINED
    assert charge.failure_message.startswith("The card was declined (card_declined)")


def test_a_card_that_needs_authentication_is_declined_with_the_reason(stripe_at):
    sub = _sale(stripe_at, NEEDS_AUTHENTICATION)

    assert sub.status == Status.INACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.failure_message == AUTHENTICATION_REQUIRED_MESSAGE
    intent = _client(stripe_at).v1.payment_intents.retrieve(charge.gateway_reference)
    assert intent.status == "requires_action"  # left for the subscriber, never confirmed


def test_a_payment_method_stripe_does_not_know_is_declined_and_nothing_is_created(stripe_at):
    creator = CreatorFactory(
        gateway=Creator.Gateway.STRIPE, gateway_credentials={"secret_key": SECRET}
    )
    customer, _method = _customer_with_card(stripe_at, WORKS)
    before = len(_client(stripe_at).v1.payment_intents.list().data)

    sub = subscription_create(
        creator=creator,
        plan=PlanFactory(product__creator=creator),
        subscriber=SubscriberData(email="bia@example.com", gateway_customer_id=customer),
        payment_method="pm_NotSavedAnywhere",
    )

    assert sub.status == Status.INACTIVE
    assert "Stripe refused the charge" in Charge.objects.get(subscription=sub).failure_message
    assert len(_client(stripe_at).v1.payment_intents.list().data) == before


def test_a_processing_reference_is_read_back_not_charged_again(stripe_at):
    sub = _sale(stripe_at, WORKS)
    charge = Charge.objects.get(subscription=sub)
    before = len(_client(stripe_at).v1.payment_intents.list().data)

    result = get_gateway(sub.creator).charge(
        amount=charge.amount,
        currency=charge.currency,
        payment_method=sub.payment_method,
        idempotency_key=charge.idempotency_key,
        metadata={},
        customer=sub.subscriber.gateway_customer_id,
        reference=charge.gateway_reference,
    )

    assert result.succeeded and result.reference == charge.gateway_reference
    assert len(_client(stripe_at).v1.payment_intents.list().data) == before


def test_a_refund_refunds_the_payment_intent(stripe_at):
    sub = _sale(stripe_at, WORKS)
    charge = Charge.objects.get(subscription=sub)

    charge_refund(charge=charge, reason="asked by the subscriber", actor=SUPPORT_ACTOR)

    charge.refresh_from_db()
    assert charge.status == Charge.Status.REFUNDED
    intent = _client(stripe_at).v1.payment_intents.retrieve(
        charge.gateway_reference, params={"expand": ["latest_charge"]}
    )
    assert intent.latest_charge.refunded is True


def test_the_card_a_setup_intent_saved_is_read_with_its_expiry(stripe_at):
    client = _client(stripe_at)
    customer, method = _customer_with_card(stripe_at, WORKS, exp=(11, 2029))
    setup = client.v1.setup_intents.create(params={"customer": customer, "usage": "off_session"})
    client.v1.setup_intents.confirm(setup.id, params={"payment_method": method})

    saved = StripeGateway({"secret_key": SECRET}).setup_intent_payment_method(setup_intent=setup.id)

    assert (saved.id, saved.type) == (method, "card")
    assert (saved.card["exp_month"], saved.card["exp_year"]) == (11, 2029)
    assert saved.card["last4"] == "4242"
