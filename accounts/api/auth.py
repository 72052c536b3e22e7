"""API authentication: `Authorization: Bearer sk_live_…` keys, or the dashboard's session.

Either way the request ends up with `request.tenant` (the Creator) and
`request.can_write` (False for viewers), which the base view enforces.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiKey, Membership
from accounts.services import api_key_authenticate

SESSION_CREATOR_KEY = "creator_id"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        authenticated = api_key_authenticate(raw_key=parts[1])
        if authenticated is None:
            # Unknown, revoked, or its holder is no longer a member: the same answer.
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        key = authenticated.api_key
        request._request.tenant = key.creator  # type: ignore[attr-defined]
        # Never more than the holder's current role (a demoted manager's key only reads).
        request._request.can_write = authenticated.can_write  # type: ignore[attr-defined]
        request._request.api_key = key  # type: ignore[attr-defined]
        return (AnonymousUser(), key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def membership_for_session(request: HttpRequest) -> Membership | None:
    """The member's current creator: the one chosen in the switcher, else their first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("creator")
    chosen = request.session.get(SESSION_CREATOR_KEY)
    if chosen:
        found = memberships.filter(creator__uuid=chosen).first()
        if found is not None:
            return found
    return memberships.order_by("created_at", "id").first()


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """Session auth for the dashboard's own calls (CSRF enforced by DRF)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        membership = membership_for_session(request._request)
        if membership is None:
            raise exceptions.PermissionDenied("You are not a member of any creator.")
        request._request.tenant = membership.creator  # type: ignore[attr-defined]
        request._request.can_write = membership.can_write  # type: ignore[attr-defined]
        return result
