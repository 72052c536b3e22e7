from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import ApiKey, Membership, Role
from accounts.services import api_key_create, api_key_revoke
from core.errors import PermissionDenied as DomainPermissionDenied
from dashboard.access import api_key_get_for_member, member_required, membership, require_write
from dashboard.forms import ApiKeyCreateForm
from dashboard.selectors import api_keys_for_creator


def _allowed_roles(role: str) -> list[str]:
    # Nobody issues a key stronger than their own role.
    return (
        [Role.OWNER, Role.MANAGER, Role.VIEWER]
        if role == Role.OWNER
        else [Role.MANAGER, Role.VIEWER]
    )


def _key_rows(current: Membership, keys: list[ApiKey]) -> list[ApiKey]:
    """Mark what the page shows per key: the role it acts with now (never above its
    holder's) and whether this member may revoke it (only owners revoke an owner's key)."""
    for key in keys:
        holder_role = key.holder_role  # type: ignore[attr-defined]
        acts_as = key.effective_role(holder_role)
        key.acts_as_label = acts_as.label if acts_as and acts_as != key.role else ""  # type: ignore[attr-defined]
        key.holder_left = holder_role is None  # type: ignore[attr-defined]
        owners = Role.OWNER in (key.role, holder_role)
        key.can_revoke = current.can_write and (  # type: ignore[attr-defined]
            current.role == Role.OWNER or not owners
        )
    return keys


@member_required
def api_keys(request: HttpRequest) -> HttpResponse:
    current = membership(request)
    form = ApiKeyCreateForm(allowed_roles=_allowed_roles(current.role))
    new_key = ""
    status = 200
    if request.method == "POST":
        require_write(request)
        form = ApiKeyCreateForm(request.POST, allowed_roles=_allowed_roles(current.role))
        if form.is_valid():
            # The form offers only roles up to the member's own; the service checks again.
            issued = api_key_create(
                creator=current.creator,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                created_by=request.user,  # type: ignore[arg-type]
            )
            # Rendered in this response only: the key is not stored and cannot be shown again.
            new_key = issued.raw_key
            form = ApiKeyCreateForm(allowed_roles=_allowed_roles(current.role))
            status = 201
        else:
            status = 400
    response = render(
        request,
        "dashboard/api_keys.html",
        {
            "nav_section": "api_keys",
            "keys": _key_rows(current, list(api_keys_for_creator(creator=current.creator))),
            "form": form,
            "new_key": new_key,
        },
        status=status,
    )
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@member_required
def api_key_revoke_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    key = api_key_get_for_member(request, uuid, write=True)
    try:
        api_key_revoke(api_key=key, revoked_by=membership(request))
    except DomainPermissionDenied as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("The key %(prefix)s… was revoked.") % {"prefix": key.prefix})
    return redirect("dashboard:api_keys")
