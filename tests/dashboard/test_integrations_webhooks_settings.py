from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Integration
from segmentation.services import rule_create
from tests.factories import CreatorFactory
from tests.notifications.http_server import FakeServer, json_answer
from tests.segmentation import provider as _provider  # noqa: F401  (registers testmail)
from tests.segmentation.factories import IntegrationFactory
from tests.subscriptions.stripe_server import running as stripe_running
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

# The endpoint page with 50 deliveries, bodies included (the payload and the answer are
# columns of the delivery row: showing them costs no query).
DELIVERY_LOG_QUERIES = 7

GENERAL = {
    "time_zone": "Europe/Lisbon",
    "locale": "en",
    "currency": "EUR",
    "retry_schedule": "2, 4, 8",
}


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- settings: the payment gateway ---------------------------------------------------------


def test_stripe_key_is_checked_stored_and_never_shown(creator, owner, login, settings):
    client = login(owner)
    with stripe_running(settings) as fake:
        response = client.post(
            reverse("dashboard:settings_gateway"),
            {"gateway": "stripe", "secret_key": "sk_test_abc123", "webhook_secret": "whsec_x1"},
        )
        assert response.status_code == 302
        assert any(r.path == "/v1/balance" for r in fake.requests)
    creator.refresh_from_db()
    assert creator.gateway == "stripe"
    assert creator.gateway_credentials == {
        "secret_key": "sk_test_abc123",
        "webhook_secret": "whsec_x1",
    }
    html = client.get(reverse("dashboard:settings")).content.decode()
    assert "sk_test_abc123" not in html and "whsec_x1" not in html
    assert 'id="gateway-mode"' in html and "Test" in html
    assert 'id="gateway-key-set"' in html and 'id="gateway-webhook-set"' in html

    # Empty fields keep the saved secrets (and the key is checked again).
    with stripe_running(settings):
        client.post(reverse("dashboard:settings_gateway"), {"gateway": "stripe"})
    creator.refresh_from_db()
    assert creator.gateway_credentials["webhook_secret"] == "whsec_x1"


def test_bad_stripe_key_is_refused_next_to_its_field(creator, owner, login):
    response = login(owner).post(
        reverse("dashboard:settings_gateway"), {"gateway": "stripe", "secret_key": "pk_test_1"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a Stripe secret key" in html
    creator.refresh_from_db()
    assert creator.gateway == "sandbox"


def test_unknown_gateway_is_refused(creator, owner, login):
    response = login(owner).post(reverse("dashboard:settings_gateway"), {"gateway": "paypal"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


def test_gateway_error_is_shown(creator, owner, login):
    creator.gateway_error = "Your card processor said no"
    creator.save(update_fields=["gateway_error"])
    html = login(owner).get(reverse("dashboard:settings")).content.decode()
    assert 'id="gateway-error"' in html and "Your card processor said no" in html


def test_general_settings_do_not_touch_the_gateway(creator, owner, login):
    creator.gateway_credentials = {"secret_key": "sk_test_keep"}
    creator.save(update_fields=["gateway_credentials"])
    assert login(owner).post(reverse("dashboard:settings"), GENERAL).status_code == 302
    creator.refresh_from_db()
    assert creator.gateway_credentials == {"secret_key": "sk_test_keep"}
    assert creator.time_zone == "Europe/Lisbon"


def test_only_owners_configure_the_gateway(creator, manager, viewer, login):
    for user in (manager, viewer):
        response = login(user).post(reverse("dashboard:settings_gateway"), {"gateway": "sandbox"})
        assert response.status_code == 403
    html = login(viewer).get(reverse("dashboard:settings")).content.decode()
    assert 'id="gateway-form"' not in html


# --- integrations -----------------------------------------------------------------------


@pytest.fixture
def activecampaign(settings):
    with FakeServer() as server:
        settings.PROVIDER_BASE_URLS = {"activecampaign": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server


def test_connect_activecampaign_with_write_only_credentials(creator, owner, login, activecampaign):
    activecampaign.on("GET", "/api/3/users/me", json_answer(200, {"user": {"id": "1"}}))
    client = login(owner)
    form = client.get(reverse("dashboard:integration_connect") + "?provider=activecampaign")
    assert 'name="cred_api_url"' in form.content.decode()
    response = client.post(
        reverse("dashboard:integration_connect"),
        {
            "provider": "activecampaign",
            "name": "AC main",
            "cred_api_url": "https://acme.api-us1.com",
            "cred_api_key": "secret-ac-key",
        },
    )
    assert response.status_code == 302
    integration = Integration.objects.get(creator=creator)
    assert integration.status == Integration.Status.CONNECTED
    html = client.get(reverse("dashboard:integrations")).content.decode()
    assert "AC main" in html and "Connected" in html and "secret-ac-key" not in html


def test_refused_credentials_show_the_error(creator, owner, login, activecampaign):
    activecampaign.on("GET", "/api/3/users/me", json_answer(401, {"message": "nope"}))
    client = login(owner)
    client.post(
        reverse("dashboard:integration_connect"),
        {
            "provider": "activecampaign",
            "cred_api_url": "https://acme.api-us1.com",
            "cred_api_key": "bad",
        },
    )
    integration = Integration.objects.get(creator=creator)
    assert integration.status == Integration.Status.ERROR
    html = client.get(reverse("dashboard:integrations")).content.decode()
    assert integration.last_error and integration.last_error in html


def test_the_connect_form_offers_the_providers_statuses_for_new_contacts(owner, login):
    client = login(owner)
    mailchimp = client.get(reverse("dashboard:integration_connect") + "?provider=mailchimp")
    html = mailchimp.content.decode()
    assert 'name="new_contact_status"' in html
    for label in ("Subscribed", "Pending (double opt-in)", "Transactional only"):
        assert f">{label}</option>" in html
    assert "Nobody who unsubscribed is ever subscribed again" in html
    brevo = client.get(
        reverse("dashboard:integration_connect") + "?provider=brevo", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert ">Subscribed</option>" in brevo and "Pending" not in brevo
    assert "Nobody who unsubscribed is ever subscribed again" in brevo


def test_connecting_keeps_the_chosen_status_for_new_contacts(creator, owner, login, settings):
    from tests.notifications.providers.fakes.mailchimp import MailchimpFake

    with MailchimpFake() as mailchimp:
        settings.PROVIDER_BASE_URLS = {"mailchimp": mailchimp.url}
        response = login(owner).post(
            reverse("dashboard:integration_connect"),
            {
                "provider": "mailchimp",
                "cred_api_key": mailchimp.api_key,
                "new_contact_status": "pending",
            },
        )
    assert response.status_code == 302
    integration = Integration.objects.get(creator=creator)
    assert (integration.status, integration.new_contact_status) == ("connected", "pending")


def test_an_unreachable_provider_is_not_called_a_refusal(creator, owner, login, settings):
    settings.PROVIDER_BASE_URLS = {"activecampaign": "http://127.0.0.1:9"}  # nothing listens
    client = login(owner)
    response = client.post(
        reverse("dashboard:integration_connect"),
        {
            "provider": "activecampaign",
            "cred_api_url": "https://acme.api-us1.com",
            "cred_api_key": "some-key",
        },
        follow=True,
    )
    html = response.content.decode()
    integration = Integration.objects.get(creator=creator)
    assert integration.status == Integration.Status.UNCHECKED
    assert "could not reach the provider" in html
    assert "refused" not in html
    assert "a network problem, not the credentials" in integration.last_error


def test_the_status_of_new_contacts_changes_from_the_list(creator, owner, login):
    from tests.notifications.factories import IntegrationFactory as ProviderIntegration

    mailchimp = ProviderIntegration(creator=creator, provider="mailchimp", name="MC")
    brevo = ProviderIntegration(creator=creator, provider="brevo", name="Brevo")
    client = login(owner)
    html = client.get(reverse("dashboard:integrations")).content.decode()
    assert f'id="status-{mailchimp.uuid}"' in html
    assert f'id="status-{brevo.uuid}"' not in html  # one status only: nothing to choose
    url = reverse("dashboard:integration_contact_status", args=[mailchimp.uuid])
    response = client.post(url, {"new_contact_status": "pending"}, follow=True)
    assert "now join as: Pending (double opt-in)" in response.content.decode()
    mailchimp.refresh_from_db()
    assert mailchimp.new_contact_status == "pending"
    refused = client.post(
        reverse("dashboard:integration_contact_status", args=[brevo.uuid]),
        {"new_contact_status": "pending"},
    )
    assert refused.status_code == 400
    assert "Choose one of the statuses this provider offers." in refused.content.decode()
    brevo.refresh_from_db()
    assert brevo.new_contact_status == "subscribed"


def test_only_writers_change_the_status_of_new_contacts(creator, viewer, outsider, login):
    from tests.notifications.factories import IntegrationFactory as ProviderIntegration

    mailchimp = ProviderIntegration(creator=creator, provider="mailchimp")
    url = reverse("dashboard:integration_contact_status", args=[mailchimp.uuid])
    assert login(viewer).post(url, {"new_contact_status": "pending"}).status_code == 403
    assert login(outsider).post(url, {"new_contact_status": "pending"}).status_code == 404
    assert (
        f'id="status-{mailchimp.uuid}"'
        not in login(viewer).get(reverse("dashboard:integrations")).content.decode()
    )
    mailchimp.refresh_from_db()
    assert mailchimp.new_contact_status == "subscribed"


def test_disconnect_in_use_answers_409_and_says_why(creator, owner, login):
    integration = IntegrationFactory(creator=creator, name="Mailer")
    rule_create(
        creator=creator,
        data={
            "name": "Churned",
            "triggers": ["CANCELLED_BY_CUSTOMER"],
            "actions": [{"type": "add_tag", "integration": str(integration.uuid), "tag": "x"}],
        },
    )
    client = login(owner)
    response = client.post(reverse("dashboard:integration_disconnect", args=[integration.uuid]))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="integration-error"' in html and "Churned" in html
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_rename_and_disconnect(creator, owner, login):
    integration = IntegrationFactory(creator=creator, name="Old")
    client = login(owner)
    client.post(reverse("dashboard:integration_rename", args=[integration.uuid]), {"name": "New"})
    integration.refresh_from_db()
    assert integration.name == "New"
    client.post(reverse("dashboard:integration_disconnect", args=[integration.uuid]))
    assert not Integration.objects.filter(pk=integration.pk).exists()


def test_integration_roles(creator, viewer, outsider, login):
    integration = IntegrationFactory(creator=creator)
    html = login(viewer).get(reverse("dashboard:integrations")).content.decode()
    assert "Disconnect" not in html and 'id="integration-connect"' not in html
    for name in ("integration_validate", "integration_rename", "integration_disconnect"):
        url = reverse(f"dashboard:{name}", args=[integration.uuid])
        assert login(viewer).post(url, {"name": "x"}).status_code == 403
        assert login(outsider).post(url, {"name": "x"}).status_code == 404


def test_integration_list_query_count(creator, owner, login):
    client = login(owner)
    IntegrationFactory(creator=creator)
    one = queries(client, reverse("dashboard:integrations"))
    IntegrationFactory.create_batch(49, creator=creator)
    assert queries(client, reverse("dashboard:integrations")) == one


# --- webhooks -----------------------------------------------------------------------------


def test_create_endpoint_shows_the_secret_once(creator, owner, login, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    client = login(owner)
    response = client.post(
        reverse("dashboard:webhook_create"),
        {"url": "http://127.0.0.1:9/hook", "events": ["subscription.created"]},
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get(creator=creator)
    html = response.content.decode()
    assert endpoint.secret in html and endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["subscription.created"]
    detail = client.get(reverse("dashboard:webhook_detail", args=[endpoint.uuid]))
    assert endpoint.secret not in detail.content.decode()


def test_endpoint_refused_url_is_shown_next_to_the_field(creator, owner, login):
    response = login(owner).post(
        reverse("dashboard:webhook_create"), {"url": "https://10.0.0.1/x", "all_events": "on"}
    )
    assert response.status_code == 400
    assert WebhookEndpoint.objects.count() == 0
    assert "errorlist" in response.content.decode()


@pytest.mark.parametrize("debug", [True, False])
def test_a_local_url_is_refused_with_how_to_allow_it_in_development(
    creator, owner, login, settings, debug
):
    settings.DEBUG = debug
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    client = login(owner)
    scheme = "http" if debug else "https"  # production takes https only
    for url in (f"{scheme}://127.0.0.1:8001/hook", f"{scheme}://localhost:9000/hook"):
        response = client.post(
            reverse("dashboard:webhook_create"), {"url": url, "all_events": "on"}
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "may not point at private, loopback or link-local addresses" in html
        assert ("WEBHOOKS_ALLOW_PRIVATE_TARGETS=true" in html) is debug
    # A URL refused for another reason gets no such hint.
    response = client.post(
        reverse("dashboard:webhook_create"), {"url": "ftp://example.com/x", "all_events": "on"}
    )
    assert "WEBHOOKS_ALLOW_PRIVATE_TARGETS" not in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_edit_test_replay_delete(creator, owner, login):
    endpoint = WebhookEndpointFactory(creator=creator)
    client = login(owner)
    response = client.post(
        reverse("dashboard:webhook_detail", args=[endpoint.uuid]),
        {"url": endpoint.url, "events": ["charge.refunded"], "is_active": ""},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["charge.refunded"] and not endpoint.is_active
    client.post(reverse("dashboard:webhook_test", args=[endpoint.uuid]))
    assert not WebhookDelivery.objects.exists()  # disabled: refused, and said so
    client.post(
        reverse("dashboard:webhook_detail", args=[endpoint.uuid]),
        {"url": endpoint.url, "all_events": "on", "is_active": "on"},
    )
    client.post(reverse("dashboard:webhook_test", args=[endpoint.uuid]))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test"
    html = client.get(reverse("dashboard:webhook_detail", args=[endpoint.uuid])).content.decode()
    assert "webhook.test" in html
    assert client.post(reverse("dashboard:webhook_replay", args=[delivery.uuid])).status_code == 302
    client.post(reverse("dashboard:webhook_delete", args=[endpoint.uuid]))
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_webhook_roles(creator, viewer, outsider, login):
    endpoint = WebhookEndpointFactory(creator=creator)
    html = login(viewer).get(reverse("dashboard:webhook_detail", args=[endpoint.uuid])).content
    assert b'id="webhook-delete"' not in html and b'id="webhook-submit"' not in html
    for name in ("webhook_test", "webhook_delete"):
        url = reverse(f"dashboard:{name}", args=[endpoint.uuid])
        assert login(viewer).post(url).status_code == 403
        assert login(outsider).post(url).status_code == 404
    assert login(viewer).post(reverse("dashboard:webhook_create"), {}).status_code == 403
    url = reverse("dashboard:webhook_detail", args=[endpoint.uuid])
    assert login(outsider).get(url).status_code == 404


def test_webhook_list_and_deliveries_query_counts(creator, owner, login):
    client = login(owner)
    endpoint = WebhookEndpointFactory(creator=creator)
    other = CreatorFactory()
    WebhookEndpointFactory(creator=other)
    deliveries = reverse("dashboard:webhook_detail", args=[endpoint.uuid])

    def add_deliveries(n):
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                creator=creator, endpoint=endpoint, event_type="webhook.test", payload={}
            )
            for _ in range(n)
        )

    add_deliveries(1)
    one_list = queries(client, reverse("dashboard:webhooks"))
    one_deliveries = queries(client, deliveries)
    WebhookEndpointFactory.create_batch(49, creator=creator)
    add_deliveries(49)
    assert queries(client, reverse("dashboard:webhooks")) == one_list
    assert queries(client, deliveries) == one_deliveries


def test_delivery_log_shows_the_payload_and_the_receivers_answer_capped(
    creator, owner, login, settings
):
    from core.egress import EXCERPT_CHARS
    from tests.webhooks.receiver import Receiver
    from webhooks.services import (
        webhook_delivery_attempt,
        webhook_delivery_replay,
        webhook_endpoint_create,
        webhook_test_send,
    )

    def attempt(delivery: WebhookDelivery) -> None:
        delivery.refresh_from_db()
        webhook_delivery_attempt(delivery_id=delivery.pk, expected_attempts=delivery.attempts)

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    endpoint, secret = webhook_endpoint_create(creator=creator, url="http://127.0.0.1:1/x")
    client = login(owner)
    url = reverse("dashboard:webhook_detail", args=[endpoint.uuid])
    with Receiver(secret, answer=b'{"seen": "<b>yes</b>"}') as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        endpoint.refresh_from_db()
        delivery = webhook_test_send(endpoint=endpoint)
        attempt(delivery)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    html = client.get(url).content.decode()
    assert "Request and response bodies" in html and "<details" in html
    # The payload exactly as sent (its id is the webhook-id), and the answer, escaped.
    sent = receiver.received[0].json()
    assert f"&quot;id&quot;: &quot;{sent['id']}&quot;" in html
    assert "&quot;type&quot;: &quot;webhook.test&quot;" in html
    assert "{&quot;seen&quot;: &quot;&lt;b&gt;yes&lt;/b&gt;&quot;}" in html
    assert "<b>yes</b>" not in html

    # An answer longer than the cap is cut at it.
    big = b"A" * (EXCERPT_CHARS - 1) + b"BZ" + b"Z" * 5000
    with Receiver(secret, answer=big) as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        endpoint.refresh_from_db()
        webhook_delivery_replay(delivery=delivery)
        attempt(delivery)
    html = client.get(url).content.decode()
    assert "A" * (EXCERPT_CHARS - 1) + "B<" in html
    # Nothing past the cap (checked after the run of A's: a random CSRF token on the
    # page may contain "BZ" by chance, which made this test fail now and then).
    assert "A" * (EXCERPT_CHARS - 1) + "BZ" not in html
    assert f"Response body (the first {EXCERPT_CHARS:,} characters)" in html

    client.cookies["django_language"] = "pt-br"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Corpos da requisição e da resposta" in html


def test_delivery_log_query_count_is_pinned_with_bodies(creator, owner, login):
    client = login(owner)
    endpoint = WebhookEndpointFactory(creator=creator)
    url = reverse("dashboard:webhook_detail", args=[endpoint.uuid])
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            creator=creator,
            endpoint=endpoint,
            event_type="webhook.test",
            payload={"type": "webhook.test", "data": {"n": i}},
            response_excerpt='{"ok": true}',
            last_status_code=200,
            status="succeeded",
        )
        for i in range(50)
    )
    assert queries(client, url) == DELIVERY_LOG_QUERIES
