"""Payment gateways: one interface, chosen per creator (SPEC §4.4)."""

from __future__ import annotations

from subscriptions.gateways.base import (
    ChargeOutcome,
    ChargeResult,
    GatewayError,
    GatewayMisconfigured,
    PaymentGateway,
)
from subscriptions.gateways.registry import get_gateway, register_gateway

__all__ = [
    "ChargeOutcome",
    "ChargeResult",
    "GatewayError",
    "GatewayMisconfigured",
    "PaymentGateway",
    "get_gateway",
    "register_gateway",
]
