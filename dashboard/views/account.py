"""Sign-in pages are Django's auth views with our templates (see dashboard/auth_urls.py);
this is the creator switcher."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.api.auth import SESSION_CREATOR_KEY
from accounts.models import Membership
from dashboard.access import member_required
from dashboard.views.common import back


@require_POST
@member_required
def creator_switch(request: HttpRequest) -> HttpResponse:
    chosen = request.POST.get("creator", "")
    found = (
        Membership.objects.filter(user=request.user, creator__uuid=chosen)  # type: ignore[misc]
        .select_related("creator")
        .first()
        if _is_uuid(chosen)
        else None
    )
    if found is None:
        raise Http404
    request.session[SESSION_CREATOR_KEY] = str(found.creator.uuid)
    return back(request, reverse("dashboard:overview"))


def _is_uuid(value: str) -> bool:
    from uuid import UUID

    try:
        UUID(value)
    except ValueError:
        return False
    return True
