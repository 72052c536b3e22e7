"""Every page fetches tenant-owned objects through these helpers (STYLE §1).

After healthchecks' `_get_check_for_user`: an object of another creator is a 404,
exactly like a missing one; a write by a member whose role cannot write is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render

from accounts.models import ApiKey, Membership, Role
from subscriptions.models import Subscription

View = Callable[..., HttpResponseBase]  # pages and streamed downloads
M = TypeVar("M", bound=Model)


def member_required(view: View) -> View:
    """Signed in and a member of some creator (the middleware resolved which one)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "membership", None) is None:
            return render(request, "dashboard/no_membership.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined, no-any-return]


def require_write(request: HttpRequest) -> Membership:
    """Owners and managers change data; viewers only read."""
    current = membership(request)
    if not current.can_write:
        raise PermissionDenied
    return current


def require_owner(request: HttpRequest) -> Membership:
    current = membership(request)
    if current.role != Role.OWNER:
        raise PermissionDenied
    return current


def subscription_get_for_member(
    request: HttpRequest, uuid: UUID, *, write: bool = False
) -> Subscription:
    current = membership(request)
    subscription = get_object_or_404(
        Subscription.objects.select_related("subscriber", "plan", "plan__product"),
        creator=current.creator,
        uuid=uuid,
    )
    if write and not current.can_write:
        raise PermissionDenied
    return subscription


def api_key_get_for_member(request: HttpRequest, uuid: UUID, *, write: bool = False) -> ApiKey:
    current = membership(request)
    api_key = get_object_or_404(ApiKey, creator=current.creator, uuid=uuid)
    if write and not current.can_write:
        raise PermissionDenied
    return api_key


def team_membership_get_for_owner(request: HttpRequest, user_uuid: UUID) -> Membership:
    """A teammate's membership; only owners manage the team."""
    current = membership(request)
    found = get_object_or_404(
        Membership.objects.select_related("user"), creator=current.creator, user__uuid=user_uuid
    )
    if current.role != Role.OWNER:
        raise PermissionDenied
    return found


def tenant_object_get(
    request: HttpRequest, queryset: QuerySet[M], uuid: UUID, *, write: bool = False
) -> M:
    """Any creator-owned row by uuid: 404 for another creator's, 403 for a read-only role."""
    current = membership(request)
    found = get_object_or_404(queryset, creator=current.creator, uuid=uuid)
    if write and not current.can_write:
        raise PermissionDenied
    return found
