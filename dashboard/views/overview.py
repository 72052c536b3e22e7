from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.access import member_required, membership
from dashboard.overview import overview_sections


@member_required
def overview(request: HttpRequest) -> HttpResponse:
    creator = membership(request).creator
    return render(
        request,
        "dashboard/overview.html",
        {"nav_section": "overview", "sections": overview_sections(creator)},
    )
