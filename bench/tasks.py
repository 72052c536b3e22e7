"""The baseline task of B1/B6: a Celery task that does nothing but count itself done (one
Redis INCR, so the benchmark knows when the last one finished)."""

from __future__ import annotations

import os

import redis
from celery import shared_task

COUNTER = "bench:noop:done"


def _client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


_redis: redis.Redis | None = None


@shared_task(queue="deliveries", ignore_result=True, acks_late=True)
def noop() -> None:
    global _redis
    if _redis is None:
        _redis = _client()
    _redis.incr(COUNTER)


def done() -> int:
    return int(_client().get(COUNTER) or 0)


def reset() -> None:
    _client().delete(COUNTER)
