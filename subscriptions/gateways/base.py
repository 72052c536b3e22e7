from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


class ChargeOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"  # the processor said no; retried only on the creator's schedule
    ERROR = "error"  # transient; retried with the same idempotency key


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    reference: str = ""
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.outcome is ChargeOutcome.SUCCEEDED


class GatewayError(Exception):
    """The gateway cannot be used at all (misconfigured credentials, invalid payment method)."""


class GatewayMisconfigured(GatewayError):
    """The creator's gateway credentials are refused (invalid or revoked key).

    Not the subscriber's decline: billing treats it as a transient error (the charge is
    retried with the same idempotency key once the creator fixes the key) and records the
    message on the creator so they see it.
    """


class PaymentGateway(Protocol):
    name: str

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
        """Charge once per `idempotency_key`. `reference` is the gateway's id of the
        payment an earlier try of the same charge started (a payment still processing):
        the gateway reads that payment's current status instead of charging again."""
        ...

    def validate_payment_method(self, *, payment_method: str, customer: str = "") -> None:
        """Raise GatewayError with a user-facing message if the method can never be charged."""
        ...

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        """Refund a settled charge in full. SUCCEEDED when the processor accepted it."""
        ...

    def payment_method_setup_url(
        self, *, customer: str, success_url: str, cancel_url: str, metadata: dict[str, str]
    ) -> str | None:
        """Where the subscriber enters a new payment method on the processor's own page,
        or None when our payment page collects it (the sandbox's test tokens). Raises
        GatewayError when the processor cannot start it now."""
        ...
