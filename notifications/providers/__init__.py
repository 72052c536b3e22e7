"""Email-marketing providers: a folder per provider, registered here and nowhere else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifications.providers.base import (
    CONTACT_STATUSES,
    Contact,
    CredentialsInvalid,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
)

if TYPE_CHECKING:
    from notifications.models import Integration

_REGISTRY: dict[str, type[EmailMarketingProvider]] = {}


def register(cls: type[EmailMarketingProvider]) -> type[EmailMarketingProvider]:
    _REGISTRY[cls.name] = cls
    return cls


def provider_classes() -> dict[str, type[EmailMarketingProvider]]:
    _load()
    return dict(_REGISTRY)


def provider_class(name: str) -> type[EmailMarketingProvider]:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"unknown provider {name!r}") from None


def provider_for(integration: Integration) -> EmailMarketingProvider:
    """An adapter for a connected integration, with its decrypted credentials."""
    return provider_class(integration.provider)(
        integration.credentials,
        integration_id=integration.pk,
        new_contact_status=integration.new_contact_status,
    )


def _load() -> None:
    # Importing each provider package registers it.
    from notifications.providers import (  # noqa: F401
        activecampaign,
        brevo,
        kit,
        mailchimp,
        mailerlite,
        rdstation,
        sandbox,
    )


__all__ = [
    "CONTACT_STATUSES",
    "Contact",
    "CredentialsInvalid",
    "EmailMarketingProvider",
    "ListInfo",
    "ProviderError",
    "TagInfo",
    "provider_class",
    "provider_classes",
    "provider_for",
    "register",
]
