from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.ratelimit import hit


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per minute per API key (or per member session), counted by
    core.ratelimit in the shared cache (Redis in production): an atomic INCR, so every
    web process adds to one count. (DRF's own history list is read-modify-write and lets
    concurrent processes overshoot the limit.)"""

    scope = "api"
    WINDOW_SECONDS = 60

    def get_rate(self) -> str:
        return f"{settings.API_RATE_LIMIT_PER_MINUTE}/min"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        key = getattr(request._request, "api_key", None)
        if key is not None:
            ident = f"key:{key.uuid}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.uuid}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        # UUIDs, not pks: ids of a recreated (test) database never inherit old counters.
        return f"throttle:{self.scope}:{ident}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        # `hit` fails open (logged) when the cache is unreachable: a Redis outage must not
        # turn every API call into an error.
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        allowed, self._retry_after = hit(
            key, settings.API_RATE_LIMIT_PER_MINUTE, self.WINDOW_SECONDS
        )
        return allowed

    def wait(self) -> float | None:
        return float(getattr(self, "_retry_after", 0)) or None
