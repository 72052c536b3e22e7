"""Fixed-window rate limits counted in the shared Django cache.

With REDIS_URL set the cache is Redis, so every web process (and every server) adds to
the same counter: the (limit+1)th request in a window is refused wherever it lands.

    allowed, retry_after = hit("signin:ip:203.0.113.9", limit=10, window_seconds=60)

    @rate_limit("reactivation-link", limit=30, window_seconds=60)
    def reactivate(request, token): ...

A refused view call answers 429 with `Retry-After` (seconds until the window ends):
JSON in the API's error shape under /api/, a short HTML page elsewhere.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError

from core.api.errors import error_body

View = TypeVar("View", bound=Callable[..., HttpResponse])
KeyFunc = Callable[[HttpRequest], str]

KEY_PREFIX = "ratelimit"
# What an unreachable cache raises (Redis down, connection refused or reset).
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

logger = logging.getLogger(__name__)


def hit(key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one request for `key`; return (allowed, retry_after_seconds).

    The window is fixed (aligned to multiples of `window_seconds` since the epoch) so
    every process agrees on it without coordination; `cache.incr` is atomic in Redis.
    `retry_after` is 0 when allowed, else the whole seconds until the window ends.
    When the cache cannot be reached the request is allowed (fail open, with a warning):
    a Redis outage must not take the site down with it.
    """
    if limit < 1 or window_seconds < 1:
        raise ValueError("limit and window_seconds must be positive")
    now = time.time()
    window = int(now // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # keys may hold tokens or emails
    cache_key = f"{KEY_PREFIX}:{window_seconds}:{window}:{digest}"
    # Outlive the window a little so a slow clock on another process still finds it.
    timeout = window_seconds + 5
    try:
        count = _incr(cache_key, timeout)
    except CACHE_ERRORS as exc:
        logger.warning("rate limit %s not counted, cache unreachable: %r", cache_key, exc)
        return True, 0
    if count <= limit:
        return True, 0
    retry_after = max(1, math.ceil((window + 1) * window_seconds - now))
    return False, retry_after


def _incr(cache_key: str, timeout: int) -> int:
    for _ in range(3):
        cache.add(cache_key, 0, timeout=timeout)
        try:
            return int(cache.incr(cache_key))
        except ValueError:  # expired between add and incr: create it again
            continue
    raise RuntimeError(f"rate-limit counter {cache_key} could not be incremented")


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the hop our own proxies saw
    (RATELIMIT_PROXY_COUNT proxies append to X-Forwarded-For)."""
    hops = int(getattr(settings, "RATELIMIT_PROXY_COUNT", 0))
    if hops > 0:
        forwarded = [
            p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = "Too many requests. Please wait a moment and try again."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            error_body("throttled", message, {"retry_after": retry_after}), status=429
        )
    else:
        response = HttpResponse(
            f"<!doctype html><title>Too many requests</title><h1>Too many requests</h1>"
            f"<p>{message}</p>",
            status=429,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def rate_limit(
    scope: str,
    *,
    limit: int | Callable[[], int],
    window_seconds: int | Callable[[], int],
    key: KeyFunc = client_ip,
    methods: tuple[str, ...] | None = None,
) -> Callable[[View], View]:
    """Decorate a view: at most `limit` calls per `window_seconds` per `key(request)`
    (client IP by default) within `scope`; `methods` limits only those HTTP methods.
    `limit` and `window_seconds` may be callables, read on each request (e.g. from
    settings, so a deployment or a test can change them)."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if methods is None or request.method in methods:
                allowed, retry_after = hit(
                    f"{scope}:{key(request)}",
                    limit() if callable(limit) else limit,
                    window_seconds() if callable(window_seconds) else window_seconds,
                )
                if not allowed:
                    return too_many_requests(request, retry_after)
            return view(request, *args, **kwargs)

        return cast(View, wrapped)

    return decorator
