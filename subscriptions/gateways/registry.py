from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from subscriptions.gateways.base import PaymentGateway
from subscriptions.gateways.sandbox import SandboxGateway

if TYPE_CHECKING:
    from accounts.models import Creator

_FACTORIES: dict[str, Callable[[dict[str, Any]], PaymentGateway]] = {
    "sandbox": SandboxGateway,
}


def register_gateway(name: str, factory: Callable[[dict[str, Any]], PaymentGateway]) -> None:
    _FACTORIES[name] = factory


def get_gateway(creator: Creator) -> PaymentGateway:
    """The creator's gateway, built with its decrypted credentials."""
    try:
        factory = _FACTORIES[creator.gateway]
    except KeyError:
        raise LookupError(f"unknown payment gateway {creator.gateway!r}") from None
    return factory(creator.gateway_credentials or {})
