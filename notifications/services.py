"""Integration services (SPEC §9): create, update, delete and validate a creator's
connection to an email-marketing provider.

Rules:
- credentials are checked for shape before anything is saved (Mailchimp `{"api_key"}`
  ending in its data centre, ActiveCampaign `{"api_url", "api_key"}`, Brevo
  `{"api_key"}`), then against the provider: the integration ends `connected`, or
  `error` with a `last_error` the creator can act on;
- credentials are write-only: an update without them keeps the stored ones;
- an integration in use (e.g. by a segmentation rule) cannot be deleted: apps register an
  "in-use checker" that names what uses it, and `integration_delete` answers 409.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Creator
from core.errors import Conflict, DomainError
from notifications.models import Integration
from notifications.providers import (
    CredentialsInvalid,
    ProviderError,
    provider_class,
    provider_classes,
    provider_for,
)
from notifications.providers.oauth import is_oauth

logger = logging.getLogger(__name__)

# An in-use checker returns a sentence naming what uses the integration, or None.
InUseChecker = Callable[[Integration], str | None]
_IN_USE_CHECKERS: dict[str, InUseChecker] = {}


def register_in_use_checker(name: str, checker: InUseChecker) -> None:
    """Called from another app's AppConfig.ready() (e.g. segmentation: "used by rule X")."""
    _IN_USE_CHECKERS[name] = checker


# Called with the integration each time it validates as connected again, so apps that
# flagged their own objects because of its credentials (segmentation rules) clear them.
ReconnectListener = Callable[[Integration], object]
_RECONNECT_LISTENERS: dict[str, ReconnectListener] = {}


def register_reconnect_listener(name: str, listener: ReconnectListener) -> None:
    _RECONNECT_LISTENERS[name] = listener


def _clean(provider: str, credentials: Any) -> dict[str, str]:
    try:
        cls = provider_class(provider)
    except LookupError:
        choices = ", ".join(sorted(provider_classes()))
        raise DomainError(
            f"Unknown provider {provider!r}; choose one of {choices}.",
            details={"provider": [f"Choose one of {choices}."]},
        ) from None
    try:
        return cls.clean_credentials(credentials)
    except CredentialsInvalid as exc:
        raise DomainError(str(exc), details={"credentials": [str(exc)]}) from None


def _clean_contact_status(provider: str, value: str | None) -> str:
    """The status new contacts get; each provider offers only the ones it has (Mailchimp:
    subscribed, pending double opt-in, transactional; Brevo and ActiveCampaign:
    subscribed)."""
    offered = provider_class(provider).contact_statuses
    if value is None or value == "":
        return offered[0]
    if value not in offered:
        choices = ", ".join(offered)
        message = (
            f"{provider_class(provider).label} cannot give new contacts the status "
            f"{str(value)[:40]!r}; choose one of {choices}."
        )
        raise DomainError(message, details={"new_contact_status": [f"Choose one of {choices}."]})
    return value


def integration_create(
    *,
    creator: Creator,
    provider: str,
    name: str,
    credentials: Any,
    new_contact_status: str | None = None,
) -> Integration:
    """Save a new integration, then check its credentials with the provider.

    A refused key is saved all the same, with status `error` and the provider's reason,
    so the creator sees what to fix; a malformed one is refused before saving (422).
    `new_contact_status` defaults to the provider's first (subscribed).
    """
    cleaned = _clean(provider, credentials)
    contact_status = _clean_contact_status(provider, new_contact_status)
    name = (name or "").strip() or provider_class(provider).label
    with transaction.atomic():
        integration = Integration.objects.create(
            creator=creator,
            provider=provider,
            name=name[:200],
            credentials=cleaned,  # type: ignore[misc]  # EncryptedJSONField stores JSON
            new_contact_status=contact_status,
        )
    return integration_validate(integration=integration)


def integration_update(
    *,
    integration: Integration,
    name: str | None = None,
    credentials: Any = None,
    new_contact_status: str | None = None,
) -> Integration:
    """Rename, replace credentials and/or change the status of new contacts. Without
    credentials the stored ones stay; new credentials are validated with the provider
    like on create."""
    fields: list[str] = []
    if new_contact_status is not None:
        integration.new_contact_status = _clean_contact_status(
            integration.provider, new_contact_status
        )
        fields.append("new_contact_status")
    if name is not None:
        if not name.strip():
            raise DomainError("The name cannot be empty.", details={"name": ["Required."]})
        integration.name = name.strip()[:200]
        fields.append("name")
    if credentials is not None:
        integration.credentials = _clean(integration.provider, credentials)
        integration.status = Integration.Status.UNCHECKED
        integration.last_error = ""
        fields += ["credentials", "status", "last_error"]
    if fields:
        with transaction.atomic():
            integration.save(update_fields=fields)
    if credentials is not None:
        return integration_validate(integration=integration)
    return integration


def integration_in_use(*, integration: Integration) -> list[str]:
    reasons: list[str] = []
    for checker in _IN_USE_CHECKERS.values():
        reason = checker(integration)
        if reason:
            reasons.append(reason)
    return reasons


def integration_delete(*, integration: Integration) -> None:
    """Delete an integration nobody uses; 409 naming the users otherwise."""
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(
            pk=integration.pk, creator_id=integration.creator_id
        )
        reasons = integration_in_use(integration=locked)
        if reasons:
            raise Conflict(
                "This integration is in use: " + "; ".join(reasons) + ". Remove it there first.",
                code="integration_in_use",
                details={"in_use_by": reasons},
            )
        locked.delete()


def integration_validate(*, integration: Integration) -> Integration:
    """Ask the provider whether the stored credentials work; record the answer.

    A network failure (no answer) says nothing about the credentials: the integration
    stays `unchecked` with the reason, and no rule is flagged. Runs outside any
    transaction of ours: the HTTP call must not hold row locks.
    """
    try:
        provider_for(integration).validate()
    except ProviderError as exc:
        status = Integration.Status.UNCHECKED if exc.network else Integration.Status.ERROR
        error = exc.message
        logger.info(
            "integration %s (%s) failed validation: %s",
            integration.uuid,
            integration.provider,
            exc.message,
        )
    else:
        status, error = Integration.Status.CONNECTED, ""
    return _record_check(integration, status=status, error=error)


def integration_mark_error(*, integration: Integration, message: str) -> Integration:
    """For callers that saw the provider refuse the credentials (401/403) mid-work:
    the integration shows the error until it validates again."""
    return _record_check(integration, status=Integration.Status.ERROR, error=message)


def _record_check(integration: Integration, *, status: str, error: str) -> Integration:
    now = timezone.now()
    with transaction.atomic():
        Integration.objects.filter(pk=integration.pk, creator_id=integration.creator_id).update(
            status=status, last_error=error[:2000], last_checked_at=now
        )
    integration.status = status
    integration.last_error = error[:2000]
    integration.last_checked_at = now
    if status == Integration.Status.CONNECTED:
        for listener in _RECONNECT_LISTENERS.values():
            listener(integration)
    return integration


def integration_tokens_refresh(
    *,
    integration_id: int,
    used_access_token: str,
    renew: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Renew an OAuth integration's access token once, however many workers find it
    expired at the same moment; return the credentials to use.

    The provider's refresh tokens are rolling (each is good for one renewal), so the
    integration row stays locked while `renew` calls the provider: a second worker
    waits, then finds a newer access token than the one it used and takes that one
    instead of spending the dead refresh token. A refused renewal (`ProviderError`
    with `auth`) propagates: the caller marks the integration `error`.
    """
    with transaction.atomic():
        locked = (
            Integration.objects.unscoped("the adapter's own integration, by its id")
            .select_for_update()
            .get(pk=integration_id)
        )
        stored = dict(locked.credentials)
        if stored.get("access_token") and stored.get("access_token") != used_access_token:
            return stored  # another worker renewed it meanwhile
        tokens = renew(dict(stored))
        locked.credentials = {**stored, **tokens}  # type: ignore[misc]
        locked.save(update_fields=["credentials"])
        return dict(locked.credentials)


def integration_oauth_authorize_url(
    *, integration: Integration, redirect_uri: str, state: str
) -> str:
    """Where to send the creator's browser to grant us access (OAuth providers)."""
    provider = provider_for(integration)
    if not is_oauth(type(provider)):
        raise DomainError(f"{provider.label} does not use an authorization page.", code="not_oauth")
    return provider.authorize_url(redirect_uri=redirect_uri, state=state)  # type: ignore[attr-defined]


def integration_oauth_complete(
    *, integration: Integration, code: str, redirect_uri: str
) -> Integration:
    """Trade the provider's authorization code for tokens, store them (encrypted, with
    the app credentials) and check the integration with them. A refused code leaves the
    integration `error` with the provider's reason."""
    provider = provider_for(integration)
    if not is_oauth(type(provider)):
        raise DomainError(f"{provider.label} does not use an authorization page.", code="not_oauth")
    try:
        tokens = provider.exchange_code(code=code, redirect_uri=redirect_uri)  # type: ignore[attr-defined]
    except ProviderError as exc:
        return _record_check(integration, status=Integration.Status.ERROR, error=exc.message)
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(
            pk=integration.pk, creator_id=integration.creator_id
        )
        locked.credentials = {**dict(locked.credentials), **tokens}  # type: ignore[misc]
        locked.save(update_fields=["credentials"])
    integration.credentials = locked.credentials
    return integration_validate(integration=integration)
