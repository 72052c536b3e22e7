from __future__ import annotations

import pytest

from tests.notifications.http_server import FakeServer


@pytest.fixture
def fake(settings):  # type: ignore[no-untyped-def]
    """A local server standing in for every provider (PROVIDER_BASE_URLS points at it)."""
    with FakeServer() as server:
        settings.PROVIDER_BASE_URLS = {
            "mailchimp": server.url,
            "activecampaign": server.url,
            "brevo": server.url,
        }
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server
