from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.ratelimit import CACHE_ERRORS

logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per minute per API key (or per member session), counted in the shared cache
    (Redis in production) so every web process sees the same count."""

    scope = "api"

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Fail open when the cache is unreachable (logged): a Redis outage must not
        turn every API call into a 500."""
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            logger.warning("API throttle not counted, cache unreachable: %r", exc)
            return True

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
