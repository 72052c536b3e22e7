from __future__ import annotations

import hashlib
from decimal import Decimal

from subscriptions.gateways.base import ChargeOutcome, ChargeResult, GatewayError

APPROVE = "pm_sandbox_ok"
DECLINE = "pm_sandbox_declined"
ERROR = "pm_sandbox_error"
# `pm_sandbox_<code>` declines with that decline code, as Stripe names it, so creators
# and tests can see hard and soft declines (subscriptions/declines.py) without Stripe.
DECLINE_CODES = {
    DECLINE: "generic_decline",
    "pm_sandbox_insufficient_funds": "insufficient_funds",
    "pm_sandbox_stolen_card": "stolen_card",
    "pm_sandbox_lost_card": "lost_card",
    "pm_sandbox_invalid_account": "invalid_account",
    "pm_sandbox_do_not_try_again": "do_not_try_again",
}
VALID_METHODS = frozenset({APPROVE, ERROR, *DECLINE_CODES})


class SandboxGateway:
    """The embedded default: deterministic by payment-method token (SPEC §4.4).

    The reference is derived from the idempotency key, so a repeated call with the same
    key answers the same charge, as a real processor's idempotency does.
    """

    name = "sandbox"

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        self.credentials = credentials or {}

    def validate_payment_method(self, *, payment_method: str, customer: str = "") -> None:
        if payment_method not in VALID_METHODS:
            raise GatewayError(
                "Invalid payment method for the sandbox gateway; "
                f"use one of {', '.join(sorted(VALID_METHODS))}."
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
        # The sandbox answers at once and never leaves a payment processing: `reference`
        # has nothing to look up.
        self.validate_payment_method(payment_method=payment_method)
        reference = "sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if payment_method == APPROVE:
            return ChargeResult(ChargeOutcome.SUCCEEDED, reference)
        if payment_method in DECLINE_CODES:
            code = DECLINE_CODES[payment_method]
            return ChargeResult(
                ChargeOutcome.DECLINED,
                reference,
                "The card was declined."
                if code == "generic_decline"
                else f"The card was declined ({code}).",
                {"decline_code": code},
            )
        return ChargeResult(ChargeOutcome.ERROR, "", "The processor did not answer; will retry.")

    def payment_method_setup_url(
        self, *, customer: str, success_url: str, cancel_url: str, metadata: dict[str, str]
    ) -> str | None:
        return None  # the payment page asks for a test token itself

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        ref = "sbx_re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return ChargeResult(ChargeOutcome.SUCCEEDED, ref)
