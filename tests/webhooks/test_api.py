"""The webhooks API (SPEC §10): endpoints, secret shown once, test events, replay. Tenant
isolation and list query counts: tests/api/test_tenant_isolation.py and
tests/notifications/test_api.py."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.api_helpers import api_client
from tests.factories import SubscriptionFactory
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _secrets_absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


def test_webhook_secret_is_shown_only_in_the_201(creator, settings, caplog):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    client = api_client(creator)
    response = client.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/in", "events": ["charge.failed"], "description": "CRM"},
        format="json",
    )
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint_id = response.json()["id"]
    texts = [
        client.get("/api/v1/webhook-endpoints").content.decode(),
        client.get(f"/api/v1/webhook-endpoints/{endpoint_id}").content.decode(),
        client.patch(
            f"/api/v1/webhook-endpoints/{endpoint_id}", {"description": "x"}, format="json"
        ).content.decode(),
        client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").content.decode(),
        caplog.text,
    ]
    for text in texts:
        _secrets_absent(text, secret, secret.removeprefix("whsec_"))
    assert WebhookEndpoint.objects.get().secret == secret


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "http://10.0.0.1/x"}, "url"),
        ({"url": "https://hooks.example.com", "events": ["nope"]}, "events"),
        ({"url": "https://hooks.example.com", "events": []}, "events"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_bad_endpoints_are_refused(creator, payload, field):
    response = api_client(creator).post("/api/v1/webhook-endpoints", payload, format="json")
    assert response.status_code in (400, 422)
    assert field in response.json()["error"]["details"]


def test_test_event_and_replay_endpoints(creator, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    client = api_client(creator)
    endpoint = WebhookEndpointFactory(creator=creator, url="http://127.0.0.1:9/x")
    response = client.post(f"/api/v1/webhook-endpoints/{endpoint.uuid}/test")
    assert response.status_code == 202
    delivery_id = response.json()["id"]
    assert response.json()["type"] == "webhook.test"
    WebhookDelivery.objects.filter(uuid=delivery_id).update(status="failed", next_attempt_at=None)
    replay = client.post(f"/api/v1/webhook-deliveries/{delivery_id}/replay")
    assert replay.status_code == 202
    assert replay.json()["status"] == "pending"
    other = api_client(SubscriptionFactory().creator)
    assert other.post(f"/api/v1/webhook-deliveries/{delivery_id}/replay").status_code == 404
    assert (
        api_client(creator, Role.VIEWER)
        .post(f"/api/v1/webhook-deliveries/{delivery_id}/replay")
        .status_code
        == 403
    )
