"""Provider lookups made while a page or an API read is answered (the rule builder's
lists and tags, `/api/v1/integrations/{id}/lists`): one deadline for the whole request,
however many pages the provider splits its answer into, and the answer cached."""

from __future__ import annotations

import json
import time

import pytest

from notifications.models import Integration
from tests.api_helpers import api_client
from tests.notifications.http_server import Answer, FakeServer, Recorded, json_answer

pytestmark = pytest.mark.django_db


def _slow_page(recorded: Recorded) -> Answer:
    offset = recorded.query.get("offset", ["0"])[0]
    payload = {"lists": [{"id": offset, "name": f"List {offset}"}], "meta": {"total": "50"}}
    return Answer(
        200, json.dumps(payload).encode(), {"Content-Type": "application/json"}, delay=0.4
    )


def test_a_lookup_gets_one_deadline_per_request_and_its_answer_is_cached(creator, settings):
    with FakeServer() as server:
        settings.PROVIDER_BASE_URLS = {"activecampaign": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 10.0
        settings.PROVIDER_LOOKUP_DEADLINE_SECONDS = 1.5
        integration = Integration.objects.create(
            creator=creator,
            provider="activecampaign",
            name="AC",
            credentials={"api_url": "https://acme.api-us1.com", "api_key": "k"},
            status=Integration.Status.CONNECTED,
        )
        client = api_client(creator)
        url = f"/api/v1/integrations/{integration.uuid}/lists"
        # 50 pages of 0.4 s each: 20 s without a request deadline.
        server.on_call("GET", "/api/3/lists", _slow_page)
        started = time.monotonic()
        slow = client.get(url)
        elapsed = time.monotonic() - started
        assert slow.status_code == 422, slow.content
        assert slow.json()["error"]["code"] == "provider_error"
        assert "took too long" in slow.json()["error"]["message"]
        assert elapsed < 3.0, elapsed

        server.on(
            "GET",
            "/api/3/lists",
            json_answer(200, {"lists": [{"id": 7, "name": "Buyers"}], "meta": {"total": "1"}}),
        )
        first = client.get(url)
        assert first.json() == {"results": [{"id": "7", "name": "Buyers"}]}
        asked = len(server.calls("GET", "/api/3/lists"))
        again = client.get(url)
        assert again.json() == first.json()
        assert len(server.calls("GET", "/api/3/lists")) == asked  # from the cache
