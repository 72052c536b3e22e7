"""Provider rate limits shared by every worker on every machine.

Two shapes, both keyed per provider account (a hash of its credentials, so two
integrations on the same account share one budget):

- `RateLimit`: at most N requests per wall-clock second (ActiveCampaign 5/s, Brevo's
  contacts endpoints 10/s). A Redis counter per second (INCR + EXPIRE).
- `ConcurrencyLimit`: at most N requests in flight (Mailchimp's 10 concurrent
  connections). A Redis sorted set of holders scored by the Redis server's clock, so a
  worker that dies holding a slot frees it after `ttl` seconds.

With REDIS_URL set both use Redis directly; without it (development) they fall back to
Django's cache, which is good enough for one machine.

The limiter never decides an outcome after the provider has answered: a slot that cannot
be released (Redis gone mid-call) is logged and left to expire after `ttl`, and the
call's result stands. A limiter that cannot be reached before a call raises a transient
`ProviderError`, so the delivery is retried like any other temporary failure.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache

from notifications.providers.base import ProviderError

logger = logging.getLogger(__name__)

KEY_PREFIX = "notifications:provider-limit"

_ACQUIRE_SLOT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], t, ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 1)
  return 1
end
return 0
"""


@lru_cache(maxsize=4)
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def redis_client() -> Any | None:
    url = getattr(settings, "REDIS_URL", "")
    return _redis(url) if url else None


def account_key(provider: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]
    return f"{KEY_PREFIX}:{provider}:{digest}"


def _unavailable(label: str, error: Exception) -> ProviderError:
    logger.warning("provider rate limiter unavailable (%s): %r", label, error)
    return ProviderError(
        f"{label}: our rate limiter is unavailable right now; we will try again.",
        permanent=False,
        retry_after=5.0,
    )


def _busy(label: str, wait: float) -> ProviderError:
    return ProviderError(
        f"{label}: our rate limit for this account is used up right now; we will try again.",
        permanent=False,
        retry_after=wait,
    )


class RateLimit:
    def __init__(self, key: str, *, per_second: int, label: str, max_wait: float = 10.0):
        self.key = key
        self.per_second = per_second
        self.label = label
        self.max_wait = max_wait

    def _count(self, window: int) -> int:
        key = f"{self.key}:{window}"
        client = redis_client()
        if client is not None:
            pipe = client.pipeline()
            pipe.incr(key)
            pipe.expire(key, 2)
            count, _ = pipe.execute()
            return int(count)
        cache.add(key, 0, timeout=2)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=2)
            return 1

    def acquire(self) -> None:
        give_up = time.monotonic() + self.max_wait
        while True:
            now = time.time()
            window = int(now)
            try:
                count = self._count(window)
            except Exception as error:  # Redis or the cache down: nothing was sent yet
                raise _unavailable(self.label, error) from error
            if count <= self.per_second:
                return
            pause = (window + 1) - now + 0.001
            if time.monotonic() + pause > give_up:
                raise _busy(self.label, 1.0)
            time.sleep(pause)

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        yield


class ConcurrencyLimit:
    def __init__(
        self, key: str, *, limit: int, label: str, ttl: float = 60.0, max_wait: float = 10.0
    ):
        self.key = key
        self.limit = limit
        self.label = label
        self.ttl = ttl
        self.max_wait = max_wait

    def _try_acquire(self, token: str) -> str | None:
        client = redis_client()
        if client is not None:
            got = client.eval(_ACQUIRE_SLOT, 1, self.key, self.ttl, self.limit, token)
            return token if int(got) == 1 else None
        for index in range(self.limit):
            slot_key = f"{self.key}:slot:{index}"
            if cache.add(slot_key, token, timeout=int(self.ttl) + 1):
                return slot_key
        return None

    def _release(self, token: str, held: str) -> None:
        """Free the slot; never raises. The provider has answered by now, and a slot
        that cannot be freed (Redis down) expires by itself after `ttl` seconds."""
        try:
            client = redis_client()
            if client is not None:
                client.zrem(self.key, token)
                return
            if cache.get(held) == token:
                cache.delete(held)
        except Exception as error:
            logger.warning(
                "provider slot not released (%s), it expires in %ss: %r",
                self.label,
                self.ttl,
                error,
            )

    def _acquire_or_unavailable(self, token: str) -> str | None:
        try:
            return self._try_acquire(token)
        except Exception as error:  # Redis or the cache down: nothing was sent yet
            raise _unavailable(self.label, error) from error

    @contextmanager
    def slot(self) -> Iterator[None]:
        token = uuid.uuid4().hex
        give_up = time.monotonic() + self.max_wait
        held = self._acquire_or_unavailable(token)
        while held is None:
            if time.monotonic() > give_up:
                raise _busy(self.label, 1.0)
            time.sleep(0.05)
            held = self._acquire_or_unavailable(token)
        try:
            yield
        finally:
            self._release(token, held)
