"""The integrations API with MailerLite, Kit and RD Station Marketing credentials
(each against its documented fake)."""

from __future__ import annotations

import pytest

from notifications.models import Integration
from tests.api_helpers import api_client
from tests.notifications.providers.fakes.kit import KitFake
from tests.notifications.providers.fakes.mailerlite import MailerLiteFake
from tests.notifications.providers.fakes.rdstation import RDStationFake

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("provider", "fake_class"), [("mailerlite", MailerLiteFake), ("kit", KitFake)]
)
def test_an_api_key_provider_connects_and_never_echoes_the_key(
    creator, settings, provider, fake_class
):
    with fake_class() as fake:
        settings.PROVIDER_BASE_URLS = {provider: fake.url}
        response = api_client(creator).post(
            "/api/v1/integrations",
            {"provider": provider, "credentials": fake.credentials()},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "connected"
    assert fake.api_key not in response.content.decode()


def test_rd_station_with_a_refresh_token_connects_through_the_api(creator, settings):
    with RDStationFake() as rd:
        settings.PROVIDER_BASE_URLS = {"rdstation": rd.url}
        refresh = rd.issue()["refresh_token"]
        response = api_client(creator).post(
            "/api/v1/integrations",
            {
                "provider": "rdstation",
                "name": "RD",
                "credentials": {
                    "client_id": rd.client_id,
                    "client_secret": rd.client_secret,
                    "refresh_token": refresh,
                },
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "connected"
    stored = Integration.objects.get().credentials
    assert stored["refresh_token"] == rd.refresh_token != refresh  # rolled on first use
    assert refresh not in response.content.decode()


def test_rd_station_without_tokens_says_to_authorize(creator, settings):
    with RDStationFake() as rd:
        settings.PROVIDER_BASE_URLS = {"rdstation": rd.url}
        response = api_client(creator).post(
            "/api/v1/integrations",
            {"provider": "rdstation", "credentials": {"client_id": "a", "client_secret": "b"}},
            format="json",
        )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "error" and "not authorized yet" in body["last_error"]
    assert body["name"] == "RD Station Marketing"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"provider": "mailerlite", "credentials": {}}, "non-empty 'api_key'"),
        ({"provider": "kit", "credentials": {"api_secret": "x"}}, "unexpected: api_secret"),
        ({"provider": "rdstation", "credentials": {"client_id": "a"}}, "'client_secret'"),
        (
            {
                "provider": "rdstation",
                "credentials": {"client_id": "a", "client_secret": "b", "refresh_token": 5},
            },
            "'refresh_token'",
        ),
        ({"provider": "rdstation", "credentials": "token"}, "must be an object"),
    ],
)
def test_malformed_credentials_are_a_clear_422(creator, payload, says):
    response = api_client(creator).post("/api/v1/integrations", payload, format="json")
    assert response.status_code in (400, 422)
    assert says in response.json()["error"]["message"]
    assert not Integration.objects.exists()
