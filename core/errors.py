"""Errors raised by services for a caller's mistake, mapped to the API's error shape.

`status` is the HTTP status an API or page answers with; `code` is stable and
machine-readable; `message` is for a person.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 422
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class Conflict(DomainError):
    """The object's current state does not allow the action (e.g. cancelling twice)."""

    status = 409
    code = "conflict"


class PaymentDeclined(DomainError):
    """The payment the action needs was declined: nothing changed."""

    status = 402
    code = "payment_declined"


class GatewayUnavailable(DomainError):
    """The payment processor did not answer: nothing changed, try again later."""

    status = 503
    code = "gateway_unavailable"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
