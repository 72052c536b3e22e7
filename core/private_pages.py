"""Headers and CSRF for pages reached through a secret link (reactivation, payment,
sign-in).

SPEC §7.2: `Referrer-Policy: no-referrer`, nothing cached or indexed. Under
`no-referrer` browsers send `Origin: null` (or no Referer at all) with the page's own
form POSTs, which Django's origin and Referer checks refuse — so these views check the
CSRF token alone (the double-submit cookie and form token, exactly as the middleware
does), and skip the origin comparison that `no-referrer` makes impossible.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, RejectRequest
from django.views.csrf import csrf_failure
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.ratelimit import rate_limit

View = Callable[..., HttpResponse]
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _csrf_token_error(request: HttpRequest) -> str | None:
    if getattr(request, "_dont_enforce_csrf_checks", False):
        # The test client's default, honoured exactly as CsrfViewMiddleware does.
        return None
    checker = CsrfViewMiddleware(lambda r: HttpResponse())
    try:
        checker._check_token(request)  # type: ignore[attr-defined]
    except RejectRequest as exc:
        return str(exc.reason)
    return None


def private_page(view: View) -> View:
    """No referrer leaves the page, no cache keeps it, no robot indexes it; writes need
    the CSRF token."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse
        if request.method in _UNSAFE_METHODS:
            reason = _csrf_token_error(request)
            if reason is not None:
                response = csrf_failure(request, reason=reason)
            else:
                response = view(request, *args, **kwargs)
        else:
            response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def subscriber_link_page(
    scope: str, *, limit: Callable[[], int], window_seconds: Callable[[], int]
) -> Callable[[View], View]:
    """A page a subscriber opens from an emailed link (reactivation, payment): private
    (above), rate limited per client IP within `scope`, and GET/HEAD/POST only. GET and
    HEAD must change nothing (mail scanners open links); the view's POST does the work."""

    def decorate(view: View) -> View:
        limited = rate_limit(scope, limit=limit, window_seconds=window_seconds)
        return private_page(limited(require_http_methods(["GET", "HEAD", "POST"])(view)))

    return decorate
