"""Reads for notifications: provider lists/tags for the rule builder, and endpoints."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from accounts.models import Creator
from core.errors import DomainError
from core.ratelimit import CACHE_ERRORS
from notifications.models import Integration
from notifications.providers import ListInfo, ProviderError, TagInfo, provider_for
from notifications.providers.deadline import lookup_deadline

T = TypeVar("T")


class ProviderUnavailable(DomainError):
    """The provider could not answer the read; the message says why (never a secret)."""

    status = 422
    code = "provider_error"


def integration_list(*, creator: Creator) -> QuerySet[Integration]:
    return Integration.objects.filter(creator=creator).order_by("name", "id")


def _cache_key(integration: Integration, what: str) -> str:
    # The credentials are part of the key: new credentials (another account) read afresh.
    fingerprint = hashlib.sha256(
        json.dumps(integration.credentials, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return f"provider-lookup:{integration.uuid}:{fingerprint}:{what}"


def _cached_lookup(integration: Integration, what: str, read: Callable[[], list[T]]) -> list[T]:
    """A provider read for a page: from the shared cache when fresh, else read within the
    request's deadline (providers/deadline.py) and kept PROVIDER_LOOKUP_CACHE_SECONDS.
    Failures are not cached; a cache that cannot be reached is skipped."""
    key = _cache_key(integration, what)
    try:
        found = cache.get(key)
    except CACHE_ERRORS:
        found = None
    if found is not None:
        return list(found)
    try:
        with lookup_deadline(settings.PROVIDER_LOOKUP_DEADLINE_SECONDS):
            items = read()
    except ProviderError as exc:
        raise ProviderUnavailable(exc.message, details=_details(exc)) from None
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(key, items, timeout=settings.PROVIDER_LOOKUP_CACHE_SECONDS)
    return items


def integration_lists(*, integration: Integration) -> list[ListInfo]:
    return _cached_lookup(integration, "lists", lambda: provider_for(integration).lists())


def integration_tags(*, integration: Integration, list_id: str | None) -> list[TagInfo]:
    return _cached_lookup(
        integration, f"tags:{list_id or ''}", lambda: provider_for(integration).tags(list_id)
    )


def _details(exc: ProviderError) -> dict[str, object]:
    return {"transient": not exc.permanent, "retry_after": exc.retry_after, "status": exc.status}
