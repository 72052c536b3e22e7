"""One deadline for the provider lookups of a page (notifications/providers/deadline.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from notifications.providers.deadline import lookup_deadline


class ProviderLookupDeadlineMiddleware:
    """GET and HEAD requests (pages, their htmx rows, API reads) share one deadline for
    every provider call they make, however many lists and tags they show."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        with lookup_deadline(settings.PROVIDER_LOOKUP_DEADLINE_SECONDS):
            return self.get_response(request)
