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


@pytest.fixture
def spec_fake(request, settings):  # type: ignore[no-untyped-def]
    """The spec-built fake of the provider named by the test's parameter (indirect), with
    PROVIDER_BASE_URLS pointing at it, and an integration connected to it."""
    from notifications.models import Integration
    from tests.notifications.factories import IntegrationFactory
    from tests.notifications.providers.fakes import FAKES

    with FAKES[request.param]() as server:
        settings.PROVIDER_BASE_URLS = {server.provider: server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        server.integration = IntegrationFactory(  # type: ignore[attr-defined]
            provider=server.provider,
            credentials=server.credentials(),
            status=Integration.Status.CONNECTED,
        )
        yield server
