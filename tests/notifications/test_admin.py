from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import FakeServer, json_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):  # type: ignore[no-untyped-def]
    admin = get_user_model().objects.create_superuser(
        email="support@example.com", password="pw-12345678"
    )
    client.force_login(admin)
    return client


def test_integration_pages_never_show_credentials_and_revalidate(staff_client, settings):
    integration = IntegrationFactory(provider="brevo")
    key = integration.credentials["api_key"]
    pages = [
        staff_client.get("/admin/notifications/integration/"),
        staff_client.get(f"/admin/notifications/integration/{integration.pk}/change/"),
        staff_client.get("/admin/notifications/integration/?q=" + integration.name),
    ]
    for page in pages:
        assert page.status_code == 200
        assert key not in page.content.decode()
    assert integration.name in pages[0].content.decode()
    with FakeServer() as server:
        settings.PROVIDER_BASE_URLS = {"brevo": server.url}
        server.on("GET", "/v3/account", json_answer(200, {}))
        response = staff_client.post(
            "/admin/notifications/integration/",
            {"action": "revalidate", "_selected_action": [integration.pk]},
            follow=True,
        )
    assert "1 of 1 connected" in response.content.decode()
    integration.refresh_from_db()
    assert integration.status == "connected"
