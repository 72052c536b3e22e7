"""The Stripe gateway: off-session PaymentIntents on the subscriber's saved card (SPEC §4.4).

Every charge is one `POST /v1/payment_intents` created and confirmed at once
(`confirm=true, off_session=true`) with our idempotency key as Stripe's
`Idempotency-Key`, after one `GET /v1/payment_methods/{id}` that says which kind of
method it is (the PaymentIntent allows exactly that type, so a saved card never asks for
a redirect) and, for a card, when it expires (`details["card"]`, kept on the
subscription for the card-expiring notice). The library never retries by itself
(`max_network_retries=0`): a transient failure is recorded on the charge and our
schedule repeats the call with the same key and the same parameters, so Stripe answers
the original PaymentIntent instead of charging twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings

from subscriptions.gateways.base import (
    ChargeOutcome,
    ChargeResult,
    GatewayError,
    GatewayMisconfigured,
)

logger = logging.getLogger(__name__)

# https://docs.stripe.com/currencies#zero-decimal — amounts are whole units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
# https://docs.stripe.com/currencies#three-decimal — 1/1000 units, last digit must be 0.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Two-decimal in the API but card networks accept whole units only (amount % 100 == 0).
WHOLE_UNIT_CURRENCIES = frozenset({"ISK"})

AUTHENTICATION_REQUIRED_MESSAGE = (
    "The bank asked the customer to authenticate (3-D Secure); "
    "off-session charges cannot complete it."
)
MISCONFIGURED_MESSAGE = (
    "Stripe refused the creator's secret key ({reason}). No charge was made; "
    "update the Stripe key in the payment settings."
)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` in the currency's smallest unit as Stripe expects it.

    Raises GatewayError when the amount cannot be charged exactly (fractional yen,
    fractional Icelandic króna): money is never rounded silently.
    """
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        exponent = 0
    elif code in THREE_DECIMAL_CURRENCIES:
        exponent = 3
    else:
        exponent = 2
    scaled = Decimal(amount).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise GatewayError(f"{amount} {code} has more decimals than Stripe accepts for {code}.")
    minor = int(scaled)
    if code in THREE_DECIMAL_CURRENCIES and minor % 10:
        raise GatewayError(f"Stripe needs {code} amounts rounded to the nearest 0.010.")
    if code in WHOLE_UNIT_CURRENCIES and minor % 100:
        raise GatewayError(f"Stripe accepts whole {code} amounts only.")
    return minor


def key_mode(secret_key: str) -> str:
    """`test` or `live` from a Stripe key's prefix (`sk_test_…`, `rk_live_…`), else ``."""
    for prefix in ("sk_", "rk_"):
        if secret_key.startswith(prefix + "test_"):
            return "test"
        if secret_key.startswith(prefix + "live_"):
            return "live"
    return ""


def stripe_client(secret_key: str) -> stripe.StripeClient:
    """A client for one creator's key; `STRIPE_API_BASE` points it at another server."""
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": base} if base else None,
        # Our billing schedule retries with the same idempotency key; retrying here too
        # would hide the failure and hold a worker for the library's backoff.
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _transient(exc: stripe.StripeError) -> ChargeResult:
    status = getattr(exc, "http_status", None)
    return ChargeResult(
        ChargeOutcome.ERROR,
        "",
        f"Stripe did not complete the request ({type(exc).__name__}"
        f"{f', HTTP {status}' if status else ''}); it will be retried with the same key.",
        {"error_type": type(exc).__name__, "http_status": status},
    )


def _misconfigured(exc: stripe.StripeError) -> GatewayMisconfigured:
    """The creator's key was refused (401/403): never the subscriber's decline."""
    return GatewayMisconfigured(
        MISCONFIGURED_MESSAGE.format(reason=exc.user_message or type(exc).__name__)
    )


def _refused(exc: stripe.InvalidRequestError) -> ChargeResult:
    """Stripe refused the request itself (an unknown or detached payment method): a
    decline, since only a new method can change the answer."""
    return ChargeResult(
        ChargeOutcome.DECLINED,
        "",
        f"Stripe refused the charge: {exc.user_message or exc}",
        {"code": exc.code or "", "http_status": exc.http_status},
    )


def _declined_from_card_error(exc: stripe.CardError) -> ChargeResult:
    error = exc.error
    code = (error.code if error else None) or exc.code or ""
    decline_code = (error.decline_code if error else None) or ""
    intent = error.payment_intent if error else None
    reference = intent.id if intent is not None and getattr(intent, "id", None) else ""
    details = {"code": code, "decline_code": decline_code}
    if code == "authentication_required" or decline_code == "authentication_required":
        return ChargeResult(
            ChargeOutcome.DECLINED, reference, AUTHENTICATION_REQUIRED_MESSAGE, details
        )
    message = (error.message if error else None) or str(exc.user_message or "")
    reason = decline_code or code or "card_declined"
    return ChargeResult(
        ChargeOutcome.DECLINED,
        reference,
        f"The card was declined ({reason}): {message}".strip().rstrip(":"),
        details,
    )


def _result_from_intent(intent: Any) -> ChargeResult:
    status = intent.status
    if status == "succeeded":
        return ChargeResult(ChargeOutcome.SUCCEEDED, intent.id)
    if status == "requires_action":
        return ChargeResult(
            ChargeOutcome.DECLINED,
            intent.id,
            AUTHENTICATION_REQUIRED_MESSAGE,
            {"status": status},
        )
    if status == "processing":
        # Asynchronous methods (bank debits) settle later; the same key replays this
        # answer, so the charge stays open until Stripe reports the final status.
        return ChargeResult(
            ChargeOutcome.ERROR,
            intent.id,
            "Stripe is still processing the payment.",
            {"status": status},
        )
    error = getattr(intent, "last_payment_error", None)
    message = (error.message if error else None) or f"Stripe answered status {status}."
    return ChargeResult(ChargeOutcome.DECLINED, intent.id, message, {"status": status})


@dataclass(frozen=True)
class SavedMethod:
    """A saved PaymentMethod as far as charging it needs: its id and type, and for a card
    `{"exp_month", "exp_year", "last4", "brand"}` (empty for any other type)."""

    id: str
    type: str
    card: dict[str, Any]


def saved_method(method: Any) -> SavedMethod:
    kind = str(getattr(method, "type", "") or "card")
    card: dict[str, Any] = {}
    found = getattr(method, "card", None) if kind == "card" else None
    if found is not None:
        card = {
            "exp_month": getattr(found, "exp_month", None),
            "exp_year": getattr(found, "exp_year", None),
            "last4": str(getattr(found, "last4", "") or ""),
            "brand": str(getattr(found, "brand", "") or ""),
        }
    return SavedMethod(id=str(method.id), type=kind, card=card)


class StripeGateway:
    """Charges the subscriber's saved Stripe customer and payment method off-session."""

    name = "stripe"

    def __init__(self, credentials: dict[str, Any] | None = None) -> None:
        credentials = credentials or {}
        self.secret_key = str(credentials.get("secret_key") or "")

    def _client(self) -> stripe.StripeClient:
        if not key_mode(self.secret_key):
            raise GatewayMisconfigured(
                MISCONFIGURED_MESSAGE.format(reason="no valid secret key is configured")
            )
        return stripe_client(self.secret_key)

    def validate_payment_method(self, *, payment_method: str, customer: str = "") -> None:
        if not payment_method.startswith("pm_") or len(payment_method) <= 3:
            raise GatewayError(
                "A Stripe payment method id (pm_…) saved on the customer is required."
            )
        if not customer.startswith("cus_") or len(customer) <= 4:
            raise GatewayError(
                "A Stripe customer id (cus_…) is required: off-session charges use the "
                "payment method saved on that customer."
            )

    def charge(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict[str, str],
        customer: str = "",
        reference: str = "",
    ) -> ChargeResult:
        if reference.startswith("pi_"):
            # An earlier try's PaymentIntent was still processing: creating again under
            # the same key would only replay that first answer (docs.stripe.com/
            # idempotency), so read the PaymentIntent's status now.
            return self._current(reference)
        self.validate_payment_method(payment_method=payment_method, customer=customer)
        amount_minor = to_minor_units(amount, currency)
        client = self._client()
        if metadata.get("attempt", "0") != "0":
            earlier = self._earlier_payment(client, customer=customer, metadata=metadata)
            if earlier is not None:
                return earlier
        method = self._payment_method(client, payment_method)
        if isinstance(method, ChargeResult):
            return method
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            # Exactly the saved method's type: without a type list Stripe enables
            # automatic payment methods, which may redirect and then demand a return_url.
            "payment_method_types": [method.type],
            "metadata": metadata,
        }
        try:
            intent = client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            return _declined_from_card_error(exc)
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise _misconfigured(exc) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            return _transient(exc)
        except stripe.IdempotencyError as exc:
            # Same key, different parameters: a bug on our side, never the subscriber's
            # decline. Kept open (and logged) rather than failing the subscription.
            logger.error("Stripe idempotency conflict for %s: %s", idempotency_key, exc)
            return _transient(exc)
        except stripe.InvalidRequestError as exc:
            # e.g. the payment method was detached from the customer: permanent.
            return _refused(exc)
        except stripe.APIError as exc:
            return _transient(exc)
        result = _result_from_intent(intent)
        if method.card:
            details = {**result.details, "card": method.card}
            return ChargeResult(result.outcome, result.reference, result.message, details)
        return result

    def _payment_method(
        self, client: stripe.StripeClient, payment_method: str
    ) -> SavedMethod | ChargeResult:
        """The saved method's type and card expiry, or the answer that ends this try: a
        method Stripe does not know is a decline (a new one is needed), an unreachable
        Stripe a transient error (nothing was charged)."""
        try:
            found = client.v1.payment_methods.retrieve(payment_method)
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise _misconfigured(exc) from exc
        except stripe.InvalidRequestError as exc:
            return _refused(exc)
        except stripe.StripeError as exc:
            return _transient(exc)
        return saved_method(found)

    def payment_method_setup_url(
        self, *, customer: str, success_url: str, cancel_url: str, metadata: dict[str, str]
    ) -> str | None:
        """A Stripe-hosted Checkout Session in `setup` mode for the saved customer: the
        card is typed on Stripe's page (no Stripe.js on ours); its
        `checkout.session.completed` webhook brings the new payment method back."""
        if not customer.startswith("cus_"):
            raise GatewayError("This subscriber has no Stripe customer to save a card on.")
        client = self._client()
        try:
            session = client.v1.checkout.sessions.create(
                params={
                    "mode": "setup",
                    "customer": customer,
                    "payment_method_types": ["card"],
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "metadata": metadata,
                    "setup_intent_data": {"metadata": metadata},
                }
            )
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise _misconfigured(exc) from exc
        except stripe.StripeError as exc:
            raise GatewayError(
                f"Stripe could not open the card page ({type(exc).__name__})."
            ) from exc
        return str(session.url)

    def setup_intent_payment_method(self, *, setup_intent: str) -> SavedMethod:
        """The payment method a completed SetupIntent saved (`pm_…`), with its card."""
        client = self._client()
        try:
            intent = client.v1.setup_intents.retrieve(
                setup_intent, params={"expand": ["payment_method"]}
            )
        except stripe.StripeError as exc:
            raise GatewayError(
                f"Stripe did not return the SetupIntent ({type(exc).__name__})."
            ) from exc
        method = intent.payment_method
        if isinstance(method, str) and method:
            return SavedMethod(id=method, type="card", card={})
        if method is None or not getattr(method, "id", ""):
            raise GatewayError("The SetupIntent has no payment method.")
        return saved_method(method)

    def _current(self, reference: str) -> ChargeResult:
        """The PaymentIntent's status now: succeeded, declined (`requires_payment_method`
        after a failed debit), or still processing (open, transient)."""
        try:
            intent = self._client().v1.payment_intents.retrieve(reference)
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise _misconfigured(exc) from exc
        except stripe.StripeError as exc:
            result = _transient(exc)
            return ChargeResult(result.outcome, reference, result.message, result.details)
        return _result_from_intent(intent)

    def _earlier_payment(
        self, client: stripe.StripeClient, *, customer: str, metadata: dict[str, str]
    ) -> ChargeResult | None:
        """Before a new attempt under a new key, the PaymentIntent an earlier attempt for
        the same subscription and period may have created.

        Stripe replays the first answer to a key — a 500 included — and prunes keys
        after 24 hours, so an attempt that ended in an error may still have charged.
        Found succeeded: that payment, no new one. Found processing: still open (it
        settles through the `payment_intent.*` webhooks). Stripe unreachable: a
        transient error, never a second PaymentIntent we could not rule out.
        """
        try:
            page = client.v1.payment_intents.list(params={"customer": customer, "limit": 100})
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise _misconfigured(exc) from exc
        except stripe.StripeError as exc:
            return _transient(exc)
        for intent in page.data:
            found = intent.metadata or {}
            if (
                found.get("subscription") != metadata.get("subscription")
                or found.get("period_start") != metadata.get("period_start")
                or found.get("intent", "") != metadata.get("intent", "")
            ):
                continue
            if intent.status in ("succeeded", "processing"):
                result = _result_from_intent(intent)
                return ChargeResult(
                    result.outcome,
                    result.reference,
                    result.message,
                    {**result.details, "found": True},
                )
        return None

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        """Refund the PaymentIntent in full. Stripe refunds what is left when no amount
        is given, so a refund already made partly in the Stripe dashboard cannot fail it."""
        if not reference.startswith("pi_"):
            return ChargeResult(
                ChargeOutcome.DECLINED, "", "This charge has no Stripe PaymentIntent to refund."
            )
        try:
            client = self._client()
            refund = client.v1.refunds.create(
                params={"payment_intent": reference, "metadata": {"charge_key": idempotency_key}},
                options={"idempotency_key": idempotency_key},
            )
        except GatewayMisconfigured as exc:
            return ChargeResult(ChargeOutcome.ERROR, "", str(exc))
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            return ChargeResult(
                ChargeOutcome.ERROR,
                "",
                MISCONFIGURED_MESSAGE.format(reason=exc.user_message or type(exc).__name__),
            )
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            return ChargeResult(
                ChargeOutcome.DECLINED,
                "",
                f"Stripe refused the refund: {exc.user_message or exc}",
                {"code": exc.code or ""},
            )
        except stripe.StripeError as exc:
            return _transient(exc)
        if refund.status in ("succeeded", "pending"):
            return ChargeResult(ChargeOutcome.SUCCEEDED, refund.id, "", {"status": refund.status})
        return ChargeResult(
            ChargeOutcome.DECLINED,
            refund.id,
            f"Stripe answered refund status {refund.status}.",
            {"status": refund.status},
        )
