"""Reads for notifications: provider lists/tags for the rule builder, and endpoints."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Creator
from core.errors import DomainError
from notifications.models import Integration
from notifications.providers import ListInfo, ProviderError, TagInfo, provider_for


class ProviderUnavailable(DomainError):
    """The provider could not answer the read; the message says why (never a secret)."""

    status = 422
    code = "provider_error"


def integration_list(*, creator: Creator) -> QuerySet[Integration]:
    return Integration.objects.filter(creator=creator).order_by("name", "id")


def integration_lists(*, integration: Integration) -> list[ListInfo]:
    try:
        return provider_for(integration).lists()
    except ProviderError as exc:
        raise ProviderUnavailable(exc.message, details=_details(exc)) from None


def integration_tags(*, integration: Integration, list_id: str | None) -> list[TagInfo]:
    try:
        return provider_for(integration).tags(list_id)
    except ProviderError as exc:
        raise ProviderUnavailable(exc.message, details=_details(exc)) from None


def _details(exc: ProviderError) -> dict[str, object]:
    return {"transient": not exc.permanent, "retry_after": exc.retry_after, "status": exc.status}
