"""Response hardening middleware.

`ContentSecurityPolicyMiddleware` puts the site's policy on every HTML answer (our pages
load scripts and styles only from our own static files, so no inline code is allowed).
`DatabaseUnavailableMiddleware` turns a lost database connection into a clean 503 with
`Retry-After` instead of a stack trace: during a database restart or failover a client
is told to come back shortly, and the next request opens a fresh connection
(`conn_health_checks`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api.errors import error_body

logger = logging.getLogger(__name__)

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'none'"
)


def csp_policy() -> str:
    return getattr(settings, "CONTENT_SECURITY_POLICY", "") or DEFAULT_CSP


class ContentSecurityPolicyMiddleware:
    """Add Content-Security-Policy to HTML responses that do not set their own.

    A view that needs a different policy (e.g. a third-party documentation page) sets the
    header itself; it is then left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = csp_policy()
        return response


class DatabaseUnavailableMiddleware:
    """Answer 503 + Retry-After when the database cannot be reached.

    Placed near the top of MIDDLEWARE so that it sees exceptions from views (DRF
    re-raises non-API exceptions). API paths get the API's error shape.
    """

    retry_after_seconds = 5

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable for %s %s: %s", request.method, request.path, exception
        )
        message = "The service is briefly unavailable. Please try again in a few seconds."
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(error_body("service_unavailable", message), status=503)
        else:
            response = HttpResponse(
                "<!doctype html><title>Temporarily unavailable</title>"
                f"<h1>Temporarily unavailable</h1><p>{message}</p>",
                status=503,
                content_type="text/html; charset=utf-8",
            )
        response["Retry-After"] = str(self.retry_after_seconds)
        response["Cache-Control"] = "no-store"
        return response
