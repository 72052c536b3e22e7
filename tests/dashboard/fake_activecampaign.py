"""ActiveCampaign for the dashboard's tests: the spec-built fake
(tests/notifications/providers/fakes/activecampaign.py) with two lists and two tags, so
the builder's list/tag dropdowns and "send test" go through the real adapter end to
end. Integrations in these tests use the API key "k"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.notifications.providers.fakes.activecampaign import ActiveCampaignFake

API_KEY = "k"


@contextmanager
def activecampaign(settings: Any) -> Iterator[ActiveCampaignFake]:
    with ActiveCampaignFake() as server:
        server.api_key = API_KEY
        server.seed_list("Customers")
        server.seed_list("Newsletter")
        server.seed_tags(["churned", "vip"])
        settings.PROVIDER_BASE_URLS = {"activecampaign": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server
