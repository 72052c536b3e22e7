"""Choosing and configuring a creator's payment gateway, and the gateway's health.

Lives here, not in accounts: accounts must not import subscriptions, and validating
credentials needs the gateway code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone

from accounts.models import Creator
from core.errors import DomainError
from subscriptions.gateways.stripe import key_mode, stripe_client


@dataclass(frozen=True)
class GatewayStatus:
    """What the settings page shows: which gateway, test or live, and any refusal."""

    gateway: str
    mode: str  # "test" | "live" | "" (sandbox or not configured)
    error: str

    @property
    def is_live(self) -> bool:
        return self.mode == "live"


def creator_gateway_status(*, creator: Creator) -> GatewayStatus:
    mode = ""
    if creator.gateway == Creator.Gateway.STRIPE:
        mode = key_mode(str((creator.gateway_credentials or {}).get("secret_key") or ""))
    return GatewayStatus(gateway=creator.gateway, mode=mode, error=creator.gateway_error)


def _stripe_credentials_check(credentials: dict[str, Any]) -> dict[str, str]:
    secret_key = str(credentials.get("secret_key") or "").strip()
    webhook_secret = str(credentials.get("webhook_secret") or "").strip()
    if not key_mode(secret_key):
        raise DomainError(
            "Enter a Stripe secret key (sk_test_… or sk_live_…, or a restricted rk_… key).",
            code="invalid_gateway_credentials",
            details={"field": "secret_key"},
        )
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        raise DomainError(
            "The webhook signing secret starts with whsec_.",
            code="invalid_gateway_credentials",
            details={"field": "webhook_secret"},
        )
    try:
        # The cheapest authenticated read: proves the key is accepted by this Stripe.
        stripe_client(secret_key).v1.balance.retrieve()
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise DomainError(
            f"Stripe refused this key: {exc.user_message or type(exc).__name__}",
            code="invalid_gateway_credentials",
            details={"field": "secret_key"},
        ) from exc
    except stripe.StripeError as exc:
        raise DomainError(
            "Stripe could not be reached to check the key; nothing was saved. Try again.",
            code="gateway_unreachable",
        ) from exc
    cleaned = {"secret_key": secret_key}
    if webhook_secret:
        cleaned["webhook_secret"] = webhook_secret
    return cleaned


def creator_gateway_configure(
    *, creator: Creator, gateway: str, credentials: dict[str, Any] | None = None
) -> GatewayStatus:
    """Switch the creator's gateway, validating the credentials on save.

    Stripe: the secret key must be accepted by Stripe (one authenticated read before
    anything is saved); the mode (test/live) follows from the key's prefix. The webhook
    signing secret is optional here, but inbound Stripe webhooks are refused until it is set.
    Sandbox: stored credentials are cleared. A saved configuration clears any earlier
    gateway error.
    """
    if gateway == Creator.Gateway.STRIPE:
        cleaned = _stripe_credentials_check(credentials or {})
    elif gateway == Creator.Gateway.SANDBOX:
        cleaned = {}
    else:
        raise DomainError(f"Unknown payment gateway {gateway!r}.", code="invalid_gateway")
    with transaction.atomic():
        locked = Creator.objects.select_for_update().get(pk=creator.pk)
        locked.gateway = gateway
        locked.gateway_credentials = cleaned
        locked.gateway_error = ""
        locked.gateway_error_at = None
        locked.save(
            update_fields=["gateway", "gateway_credentials", "gateway_error", "gateway_error_at"]
        )
    creator.gateway = locked.gateway
    creator.gateway_credentials = locked.gateway_credentials
    creator.gateway_error = ""
    creator.gateway_error_at = None
    return creator_gateway_status(creator=creator)


def creator_gateway_error_record(*, creator: Creator, message: str) -> None:
    """The gateway refused the creator's credentials: keep the message for the creator."""
    now = timezone.now()
    Creator.objects.filter(pk=creator.pk).update(gateway_error=message[:500], gateway_error_at=now)
    creator.gateway_error = message[:500]
    creator.gateway_error_at = now


def creator_gateway_error_clear(*, creator: Creator) -> None:
    """A charge went through: the credentials work again. No query when nothing is set."""
    if not creator.gateway_error:
        return
    Creator.objects.filter(pk=creator.pk).update(gateway_error="", gateway_error_at=None)
    creator.gateway_error = ""
    creator.gateway_error_at = None
