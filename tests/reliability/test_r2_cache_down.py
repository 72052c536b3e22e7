"""R2 (fast part): with the cache's Redis unreachable, the rate limiter and the API
throttle let requests through (with a warning) instead of failing them with a 500.
The full R2 row, with Redis SIGKILLed under load, is test_r2_redis_killed.py."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import caches

from core.ratelimit import hit
from tests.api_helpers import api_client
from tests.reliability.procs import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_cache(settings):  # type: ignore[no-untyped-def]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }  # the setting_changed signal gives every process-wide cache handle the new one
    assert caches["default"]._cache._servers[0].endswith("/0")  # type: ignore[attr-defined]


def test_rate_limiter_fails_open_when_the_cache_is_down(dead_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        assert hit("signin:ana@example.com", limit=1, window_seconds=60) == (True, 0)
        assert hit("signin:ana@example.com", limit=1, window_seconds=60) == (True, 0)
    assert "cache unreachable" in caplog.text


def test_api_answers_while_the_cache_is_down(dead_cache, creator, caplog):
    client = api_client(creator, "owner")
    with caplog.at_level(logging.WARNING, logger="core.api.throttling"):
        response = client.get("/api/v1/products")
    assert response.status_code == 200, response.content[:300]
    assert "not counted, cache unreachable" in caplog.text
