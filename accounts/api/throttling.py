from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per minute per API key (or per member session), counted in the shared cache
    (Redis in production) so every web process sees the same count."""

    scope = "api"

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
