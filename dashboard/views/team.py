from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from core.errors import Conflict
from dashboard.access import (
    member_required,
    membership,
    require_owner,
    team_membership_get_for_owner,
)
from dashboard.forms import TeamInviteForm, TeamRoleForm
from dashboard.selectors import team_members
from dashboard.services import team_invite, team_member_remove, team_role_change


def _render(
    request: HttpRequest, form: TeamInviteForm | None = None, status: int = 200
) -> HttpResponse:
    current = membership(request)
    return render(
        request,
        "dashboard/team.html",
        {
            "nav_section": "team",
            "members": list(team_members(creator=current.creator)),
            "invite_form": form or TeamInviteForm(),
            "roles": Role.choices,
            "is_owner": current.role == Role.OWNER,
        },
        status=status,
    )


@member_required
def team(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request)
    current = require_owner(request)
    form = TeamInviteForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    try:
        invitation = team_invite(
            creator=current.creator,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,  # type: ignore[arg-type]
        )
    except Conflict:
        form.add_error("email", _("This person is already on the team."))
        return _render(request, form, status=409)
    messages.success(
        request,
        _("%(email)s was invited and will receive an email.")
        % {"email": invitation.membership.user.email},
    )
    return redirect("dashboard:team")


@require_POST
@member_required
def team_role(request: HttpRequest, user_uuid: UUID) -> HttpResponse:
    member = team_membership_get_for_owner(request, user_uuid)
    form = TeamRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("dashboard:team")
    try:
        team_role_change(membership=member, role=form.cleaned_data["role"])
        messages.success(
            request, _("The role of %(email)s was changed.") % {"email": member.user.email}
        )
    except Conflict:
        messages.error(request, _("A team needs at least one owner."))
    return redirect("dashboard:team")


@require_POST
@member_required
def team_remove(request: HttpRequest, user_uuid: UUID) -> HttpResponse:
    member = team_membership_get_for_owner(request, user_uuid)
    try:
        team_member_remove(membership=member)
        messages.success(
            request, _("%(email)s was removed from the team.") % {"email": member.user.email}
        )
    except Conflict:
        messages.error(request, _("A team needs at least one owner."))
    return redirect("dashboard:team")
