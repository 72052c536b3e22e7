"""Resolve the signed-in member's current creator for dashboard pages and show every
time in that creator's time zone (SPEC §11: "the creator's time zone everywhere")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.api.auth import membership_for_session
from core.tenancy import enter_tenant_context, leave_tenant_context


class CreatorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request._tenant_token = None  # type: ignore[attr-defined]
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            if request._tenant_token is not None:  # type: ignore[attr-defined]
                leave_tenant_context(request._tenant_token)  # type: ignore[attr-defined]

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        # Only dashboard pages pay for the lookup; the API resolves its tenant itself.
        match = request.resolver_match
        if match is None or match.app_name != "dashboard":
            return
        current = membership_for_session(request)
        request.membership = current  # type: ignore[attr-defined]
        if current is not None:
            timezone.activate(current.creator.tz)
            # Queries on tenant-owned models must now be scoped (core.tenancy).
            request._tenant_token = enter_tenant_context(current.creator)  # type: ignore[attr-defined]
