from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import Role
from dashboard.access import member_required, membership, require_owner
from dashboard.forms import CreatorSettingsForm
from dashboard.services import creator_settings_update


@member_required
def creator_settings(request: HttpRequest) -> HttpResponse:
    current = membership(request)
    creator = current.creator
    if request.method == "POST":
        require_owner(request)
        form = CreatorSettingsForm(request.POST)
        if form.is_valid():
            creator_settings_update(creator=creator, **form.cleaned_data)
            messages.success(request, _("Settings saved."))
            return redirect("dashboard:settings")
        status = 400
    else:
        form = CreatorSettingsForm(
            initial={
                "time_zone": creator.time_zone,
                "locale": creator.locale,
                "currency": creator.currency,
                "retry_schedule": ", ".join(str(d) for d in creator.retry_schedule),
                "gateway": creator.gateway,
            }
        )
        status = 200
    return render(
        request,
        "dashboard/settings.html",
        {
            "nav_section": "settings",
            "form": form,
            "is_owner": current.role == Role.OWNER,
            "has_gateway_key": bool(creator.gateway_credentials),
        },
        status=status,
    )
