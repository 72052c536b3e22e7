from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from subscriptions.models import SubscriptionEvent
from tests.factories import SubscriptionFactory
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_deliveries_create_for_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):  # type: ignore[no-untyped-def]
    admin = get_user_model().objects.create_superuser(
        email="support@example.com", password="pw-12345678"
    )
    client.force_login(admin)
    return client


def test_endpoint_and_delivery_pages_never_show_the_secret_and_replay(staff_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    subscription = SubscriptionFactory()
    endpoint = WebhookEndpointFactory(creator=subscription.creator, url="http://127.0.0.1:9/x")
    event = SubscriptionEvent.objects.create(
        creator=subscription.creator,
        subscription=subscription,
        type="charge.failed",
        data={},
        occurred_at=subscription.started_at,
    )
    webhook_deliveries_create_for_event(event)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    secret = str(endpoint.secret)
    for url in (
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        "/admin/webhooks/webhookdelivery/",
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/",
    ):
        page = staff_client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert secret not in html and secret.removeprefix("whsec_") not in html
    response = staff_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert "1 deliveries queued" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "pending"


@pytest.mark.parametrize("model", ["webhookendpoint", "webhookdelivery"])
def test_the_admin_pages_of_webhooks_from_before_their_move_redirect(staff_client, model):
    """Support's bookmarks to the webhook pages under /admin/notifications/ still work."""
    response = staff_client.get(f"/admin/notifications/{model}/7/change/?q=x")
    assert response.status_code == 301
    assert response["Location"] == f"/admin/webhooks/{model}/7/change/?q=x"
