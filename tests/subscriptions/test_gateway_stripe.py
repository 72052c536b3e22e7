"""Contract tests of the Stripe gateway against a local server that answers as Stripe does.

Every test goes through our real code paths (subscription_create → charge_call_gateway →
first_charge_settle, charge_refund, creator_gateway_configure) and the real `stripe`
package; only Stripe itself is replaced, at the HTTP boundary.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Creator
from core.errors import DomainError
from subscriptions.charges import charge_refund
from subscriptions.gateways import ChargeOutcome, GatewayError, get_gateway
from subscriptions.gateways.configure import creator_gateway_configure, creator_gateway_status
from subscriptions.gateways.stripe import AUTHENTICATION_REQUIRED_MESSAGE, to_minor_units
from subscriptions.models import Charge, Status, Subscription
from subscriptions.services import (
    SubscriberData,
    charge_call_gateway,
    first_charge_settle,
    subscription_create,
)
from tests.factories import (
    SUPPORT_ACTOR,
    TEST_ACTOR,
    ChargeFactory,
    CreatorFactory,
    PlanFactory,
    SubscriptionFactory,
)
from tests.subscriptions import stripe_server as ss

pytestmark = pytest.mark.django_db

SECRET = "sk_test_51Nabc0123456789"
CUSTOMER = "cus_NffrFeUfNV2Hib"
PM = "pm_1MtwBwLkdIwHu7ixgW7QxA9P"


@pytest.fixture
def fake_stripe(settings):  # type: ignore[no-untyped-def]
    with ss.running(settings) as fake:
        yield fake


@pytest.fixture
def stripe_creator(db):  # type: ignore[no-untyped-def]
    return CreatorFactory(
        gateway=Creator.Gateway.STRIPE,
        gateway_credentials={"secret_key": SECRET, "webhook_secret": "whsec_test"},
    )


def _sale(creator, *, price="49.90", currency="BRL", pm=PM, customer=CUSTOMER):  # type: ignore[no-untyped-def]
    plan = PlanFactory(
        product__creator=creator, price=Decimal(price), currency=currency, period="monthly"
    )
    return subscription_create(
        creator=creator,
        plan=plan,
        subscriber=SubscriberData(email="ana@example.com", gateway_customer_id=customer),
        payment_method=pm,
    )


def _retry_first_charge(subscription: Subscription) -> Subscription:
    """What the retry job does for a first charge left open: same row, same key."""
    charge = Charge.objects.get(subscription=subscription)
    result = charge_call_gateway(charge=charge)
    first_charge_settle(subscription_id=subscription.pk, charge_id=charge.pk, result=result)
    subscription.refresh_from_db()
    return subscription


# --- success --------------------------------------------------------------------------


def test_sale_creates_and_confirms_an_off_session_payment_intent(stripe_creator, fake_stripe):
    sub = _sale(stripe_creator)

    assert sub.status == Status.ACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.SUCCEEDED
    assert charge.gateway == "stripe"
    assert charge.gateway_reference.startswith("pi_")
    [read] = fake_stripe.method_reads
    assert (read.method, read.path) == ("GET", f"/v1/payment_methods/{PM}")
    [request] = fake_stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.header("Authorization") == f"Bearer {SECRET}"
    assert request.header("Idempotency-Key") == charge.idempotency_key
    assert request.params == {
        "amount": "4990",
        "currency": "brl",
        "customer": CUSTOMER,
        "payment_method": PM,
        "confirm": "true",
        "off_session": "true",
        # Exactly the saved method's type: a card never redirects, so no return_url.
        "payment_method_types[0]": "card",
        "metadata[subscription]": str(sub.uuid),
        "metadata[charge]": str(charge.uuid),
        "metadata[creator]": str(stripe_creator.uuid),
        "metadata[period_start]": charge.period_start.isoformat(),
        "metadata[attempt]": "0",
    }


def test_the_charged_cards_expiry_is_kept_on_the_subscription(stripe_creator, fake_stripe):
    fake_stripe.payment_methods[PM] = (200, ss.card_method(PM, exp_month=2, exp_year=2027))

    sub = _sale(stripe_creator)

    assert sub.status == Status.ACTIVE
    sub.refresh_from_db()
    assert sub.card_expires_on == date(2027, 2, 28)  # valid through the month's last day


def test_a_payment_method_stripe_does_not_know_declines_without_creating_a_payment(
    stripe_creator, fake_stripe
):
    fake_stripe.payment_methods[PM] = (
        404,
        {
            "error": {
                "code": "resource_missing",
                "message": f"No such PaymentMethod: '{PM}'",
                "param": "payment_method",
                "type": "invalid_request_error",
            }
        },
    )

    sub = _sale(stripe_creator)

    assert sub.status == Status.INACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.DECLINED
    assert f"No such PaymentMethod: '{PM}'" in charge.failure_message
    assert fake_stripe.requests == []  # no PaymentIntent


def test_a_bank_debit_method_is_charged_as_its_own_type(stripe_creator, fake_stripe):
    method = {**ss.card_method(PM), "type": "sepa_debit", "card": None}
    fake_stripe.payment_methods[PM] = (200, method)

    sub = _sale(stripe_creator, currency="EUR")

    assert sub.status == Status.ACTIVE
    assert fake_stripe.requests[0].params["payment_method_types[0]"] == "sepa_debit"
    sub.refresh_from_db()
    assert sub.card_expires_on is None


@pytest.mark.parametrize(
    ("price", "currency", "amount"),
    [("500", "JPY", "500"), ("12000", "KRW", "12000"), ("5.12", "KWD", "5120")],
)
def test_amount_is_sent_in_the_currencys_minor_units(
    stripe_creator, fake_stripe, price, currency, amount
):
    sub = _sale(stripe_creator, price=price, currency=currency)

    assert sub.status == Status.ACTIVE
    assert fake_stripe.requests[0].params["amount"] == amount
    assert fake_stripe.requests[0].params["currency"] == currency.lower()


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("49.90", "BRL", 4990),
        ("0.5", "usd", 50),
        ("500", "JPY", 500),
        ("1500", "CLP", 1500),
        ("5.12", "KWD", 5120),
        ("7.5", "BHD", 7500),
        ("40", "ISK", 4000),
    ],
)
def test_to_minor_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"), [("500.50", "JPY"), ("40.10", "ISK"), ("1.001", "USD")]
)
def test_amounts_stripe_cannot_charge_exactly_are_refused_not_rounded(amount, currency):
    with pytest.raises(GatewayError):
        to_minor_units(Decimal(amount), currency)


# --- declines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "decline_code"),
    [
        ("card_declined", "generic_decline"),
        ("card_declined", "insufficient_funds"),
        ("card_declined", "lost_card"),
        ("card_declined", "stolen_card"),
        ("card_declined", "do_not_honor"),
        ("expired_card", "expired_card"),
        ("incorrect_cvc", "incorrect_cvc"),
    ],
)
def test_hard_declines_decline_the_first_charge_without_retrying(
    stripe_creator, fake_stripe, code, decline_code
):
    fake_stripe.then(ss.card_error(code, decline_code, "Your card was declined."))

    sub = _sale(stripe_creator)

    assert sub.status == Status.INACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.DECLINED
    assert decline_code in charge.failure_message
    assert charge.gateway_reference.startswith("pi_")  # the failed PaymentIntent
    assert len(fake_stripe.requests) == 1  # no retry inside the library


def test_decline_code_is_in_the_result_details(stripe_creator, fake_stripe):
    fake_stripe.then(ss.card_error("card_declined", "insufficient_funds", "Insufficient funds."))

    result = get_gateway(stripe_creator).charge(
        amount=Decimal("10.00"),
        currency="USD",
        payment_method=PM,
        idempotency_key="k1",
        metadata={},
        customer=CUSTOMER,
    )

    assert result.outcome is ChargeOutcome.DECLINED
    assert result.details == {"code": "card_declined", "decline_code": "insufficient_funds"}


@pytest.mark.parametrize("responder", [ss.authentication_required, ss.requires_action])
def test_3ds_required_declines_with_a_reason_the_creator_sees(
    stripe_creator, fake_stripe, responder
):
    fake_stripe.then(responder)

    sub = _sale(stripe_creator)

    assert sub.status == Status.INACTIVE
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.DECLINED
    assert charge.failure_message == AUTHENTICATION_REQUIRED_MESSAGE
    failed = sub.events.get(type="charge.failed")
    assert failed.data["message"] == AUTHENTICATION_REQUIRED_MESSAGE


# --- transient errors and the same-key retry ------------------------------------------


@pytest.mark.parametrize(
    ("responder", "delay"),
    [(ss.rate_limited, 0.0), (ss.api_error, 0.0), (ss.succeeded, 1.5)],
    ids=["429", "500", "timeout"],
)
def test_transient_error_keeps_the_charge_open_and_the_retry_reuses_key_and_parameters(
    stripe_creator, fake_stripe, responder, delay
):
    fake_stripe.then(responder, delay=delay).then(ss.succeeded)

    sub = _sale(stripe_creator)

    assert sub.status == Status.STARTED  # neither paid nor declined: the retry job repeats it
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.FAILED
    assert "retried with the same key" in charge.failure_message
    assert len(fake_stripe.requests) == 1  # max_network_retries=0

    sub = _retry_first_charge(sub)

    assert sub.status == Status.ACTIVE
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED
    first, retry = fake_stripe.requests
    assert first.header("Idempotency-Key") == retry.header("Idempotency-Key")
    assert first.header("Idempotency-Key") == charge.idempotency_key
    assert first.body == retry.body  # identical parameters, byte for byte


# --- misconfiguration -----------------------------------------------------------------


@pytest.mark.parametrize("responder", [ss.invalid_api_key, ss.permission_denied])
def test_refused_key_is_not_a_decline_and_is_shown_to_the_creator(
    stripe_creator, fake_stripe, responder
):
    fake_stripe.then(responder)

    sub = _sale(stripe_creator)

    assert sub.status == Status.STARTED  # not INACTIVE: the subscriber did nothing wrong
    charge = Charge.objects.get(subscription=sub)
    assert charge.status == Charge.Status.FAILED
    stripe_creator.refresh_from_db()
    assert "Stripe refused the creator's secret key" in stripe_creator.gateway_error
    assert stripe_creator.gateway_error_at is not None
    assert creator_gateway_status(creator=stripe_creator).error == stripe_creator.gateway_error

    # The creator fixes the key; the open charge goes through and the error disappears.
    sub = _retry_first_charge(sub)
    assert sub.status == Status.ACTIVE
    stripe_creator.refresh_from_db()
    assert stripe_creator.gateway_error == ""
    assert fake_stripe.requests[0].body == fake_stripe.requests[1].body


def test_missing_key_is_a_misconfiguration_and_nothing_is_sent(fake_stripe):
    creator = CreatorFactory(gateway=Creator.Gateway.STRIPE, gateway_credentials={})

    sub = _sale(creator)

    assert sub.status == Status.STARTED
    creator.refresh_from_db()
    assert "no valid secret key" in creator.gateway_error
    assert fake_stripe.requests == []


@pytest.mark.parametrize(
    ("pm", "customer"),
    [("pm_sandbox_ok", ""), ("card_123", CUSTOMER), (PM, ""), (PM, "someone@example.com")],
)
def test_sale_without_stripe_customer_and_payment_method_is_refused(
    stripe_creator, fake_stripe, pm, customer
):
    with pytest.raises(DomainError) as exc:
        _sale(stripe_creator, pm=pm, customer=customer)

    assert exc.value.code == "invalid_payment_method"
    assert not Subscription.objects.filter(creator=stripe_creator).exists()
    assert fake_stripe.requests == []


# --- refunds --------------------------------------------------------------------------


def _stripe_charge(creator):  # type: ignore[no-untyped-def]
    sub = SubscriptionFactory(
        plan__product__creator=creator, payment_method=PM, subscriber__gateway_customer_id=CUSTOMER
    )
    return ChargeFactory(
        subscription=sub, gateway="stripe", gateway_reference="pi_3MtwBwLkdIwHu7ix28a3tqPa"
    )


def test_refund_refunds_the_payment_intent_with_an_idempotency_key(stripe_creator, fake_stripe):
    charge = _stripe_charge(stripe_creator)

    charge_refund(charge=charge, reason="asked", actor=SUPPORT_ACTOR)

    charge.refresh_from_db()
    assert charge.status == Charge.Status.REFUNDED
    assert charge.subscription.events.filter(type="charge.refunded").count() == 1
    [request] = fake_stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/refunds")
    assert request.params["payment_intent"] == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert "amount" not in request.params  # in full
    assert request.header("Idempotency-Key") == f"refund_{charge.idempotency_key}"


@pytest.mark.parametrize(
    ("responder", "text"),
    [(ss.invalid_api_key, "secret key"), (ss.api_error, "retried"), (ss.rate_limited, "retried")],
)
def test_refused_refund_changes_nothing_and_says_why(stripe_creator, fake_stripe, responder, text):
    charge = _stripe_charge(stripe_creator)
    fake_stripe.then(responder)

    with pytest.raises(DomainError) as exc:
        charge_refund(charge=charge, actor=TEST_ACTOR)

    assert exc.value.code == "refund_failed"
    assert text in exc.value.message
    charge.refresh_from_db()
    assert charge.status == Charge.Status.SUCCEEDED
    assert not charge.subscription.events.filter(type="charge.refunded").exists()


# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(("key", "mode"), [(SECRET, "test"), ("sk_live_51Nxyz987", "live")])
def test_configure_validates_the_key_with_stripe_and_shows_the_mode(fake_stripe, key, mode):
    creator = CreatorFactory(gateway_error="old failure")

    status = creator_gateway_configure(
        creator=creator,
        gateway="stripe",
        credentials={"secret_key": key, "webhook_secret": "whsec_abc"},
    )

    assert (status.gateway, status.mode, status.error) == ("stripe", mode, "")
    assert status.is_live is (mode == "live")
    [request] = fake_stripe.requests
    assert (request.method, request.path) == ("GET", "/v1/balance")
    assert request.header("Authorization") == f"Bearer {key}"
    creator.refresh_from_db()
    assert creator.gateway == "stripe"
    assert creator.gateway_credentials == {"secret_key": key, "webhook_secret": "whsec_abc"}
    assert creator.gateway_error == ""


@pytest.mark.parametrize("responder", [ss.invalid_api_key, ss.permission_denied])
def test_configure_refuses_a_key_stripe_rejects_and_saves_nothing(fake_stripe, responder):
    creator = CreatorFactory()
    fake_stripe.then(responder)

    with pytest.raises(DomainError) as exc:
        creator_gateway_configure(
            creator=creator, gateway="stripe", credentials={"secret_key": SECRET}
        )

    assert exc.value.code == "invalid_gateway_credentials"
    creator.refresh_from_db()
    assert (creator.gateway, creator.gateway_credentials) == ("sandbox", {})


@pytest.mark.parametrize(
    "credentials",
    [{}, {"secret_key": "pk_test_123"}, {"secret_key": SECRET, "webhook_secret": "nope"}],
)
def test_configure_refuses_malformed_credentials_without_calling_stripe(fake_stripe, credentials):
    creator = CreatorFactory()

    with pytest.raises(DomainError) as exc:
        creator_gateway_configure(creator=creator, gateway="stripe", credentials=credentials)

    assert exc.value.code == "invalid_gateway_credentials"
    assert fake_stripe.requests == []


def test_configure_when_stripe_is_unreachable_saves_nothing(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    creator = CreatorFactory()

    with pytest.raises(DomainError) as exc:
        creator_gateway_configure(
            creator=creator, gateway="stripe", credentials={"secret_key": SECRET}
        )

    assert exc.value.code == "gateway_unreachable"
    creator.refresh_from_db()
    assert creator.gateway == "sandbox"


def test_configure_back_to_sandbox_forgets_the_stripe_credentials(stripe_creator):
    status = creator_gateway_configure(creator=stripe_creator, gateway="sandbox")

    assert (status.gateway, status.mode) == ("sandbox", "")
    stripe_creator.refresh_from_db()
    assert stripe_creator.gateway_credentials == {}
