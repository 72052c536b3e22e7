from __future__ import annotations

import hashlib
from decimal import Decimal

from subscriptions.gateways.base import ChargeOutcome, ChargeResult, GatewayError

APPROVE = "pm_sandbox_ok"
DECLINE = "pm_sandbox_declined"
ERROR = "pm_sandbox_error"
VALID_METHODS = frozenset({APPROVE, DECLINE, ERROR})


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
    ) -> ChargeResult:
        self.validate_payment_method(payment_method=payment_method)
        reference = "sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if payment_method == APPROVE:
            return ChargeResult(ChargeOutcome.SUCCEEDED, reference)
        if payment_method == DECLINE:
            return ChargeResult(ChargeOutcome.DECLINED, reference, "The card was declined.")
        return ChargeResult(ChargeOutcome.ERROR, "", "The processor did not answer; will retry.")

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        ref = "sbx_re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return ChargeResult(ChargeOutcome.SUCCEEDED, ref)
