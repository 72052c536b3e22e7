"""The provider rate limiter and a Redis outage (notifications/providers/ratelimit.py).

A Redis of the test's own (a real `redis-server` on a free port) backs the limiter and
is killed at the worst moments: while the provider is answering (the slot cannot be
released afterwards) and before a call (no slot can be taken). A released slot must never
change an outcome; a limiter that cannot be reached sends nothing and asks for a retry.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator

import pytest

from notifications.providers import ProviderError, provider_for, ratelimit
from tests.conftest import require_service
from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import Recorded, json_answer
from tests.notifications.providers.test_mailchimp import ANA, ANA_HASH, MEMBER
from tests.redis_server import OwnRedis, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_redis(settings) -> Iterator[OwnRedis]:  # type: ignore[no-untyped-def]
    require_service(shutil.which("redis-server") is not None, "redis-server")
    server = OwnRedis(free_port())
    server.start()
    settings.REDIS_URL = server.url
    ratelimit._redis.cache_clear()
    try:
        yield server
    finally:
        server.kill()
        ratelimit._redis.cache_clear()


def test_a_slot_that_cannot_be_released_does_not_turn_a_success_into_an_error(
    fake, own_redis, caplog
):  # type: ignore[no-untyped-def]
    integration = IntegrationFactory(provider="mailchimp")

    def answer_then_lose_redis(recorded: Recorded):  # type: ignore[no-untyped-def]
        own_redis.kill()  # Redis dies while Mailchimp is answering
        return json_answer(200, {"id": ANA_HASH, "status": "subscribed"})

    fake.on_call("PUT", MEMBER, answer_then_lose_redis)
    with caplog.at_level(logging.WARNING, logger="notifications.providers.ratelimit"):
        provider_for(integration).add_to_list(ANA, "a1")  # returns: the contact was added

    assert len(fake.calls("PUT", MEMBER)) == 1
    assert "provider slot not released" in caplog.text


@pytest.mark.parametrize("provider", ["mailchimp", "activecampaign"])
def test_a_limiter_that_cannot_be_reached_sends_nothing_and_asks_for_a_retry(
    fake, own_redis, provider
):  # type: ignore[no-untyped-def]
    integration = IntegrationFactory(provider=provider)
    own_redis.kill()

    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(ANA, "1")

    assert info.value.permanent is False
    assert "rate limiter is unavailable" in info.value.message
    assert fake.calls() == []
