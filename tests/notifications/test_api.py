from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from notifications import services
from notifications.models import Integration
from subscriptions.models import SubscriptionEvent
from tests.api_helpers import api_client
from tests.factories import SubscriptionFactory
from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import FakeServer, json_answer
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.services import webhook_deliveries_create_for_event

pytestmark = pytest.mark.django_db

KEY = "xkeysib-0123456789abcdef0123456789abcdef"


@pytest.fixture
def brevo(settings):  # type: ignore[no-untyped-def]
    with FakeServer() as server:
        settings.PROVIDER_BASE_URLS = {"brevo": server.url}
        yield server


def _secrets_absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


def test_create_validates_and_never_returns_credentials(creator, brevo):
    brevo.on("GET", "/v3/account", json_answer(200, {"email": "x@example.com"}))
    response = api_client(creator).post(
        "/api/v1/integrations",
        {"provider": "brevo", "name": "Brevo", "credentials": {"api_key": KEY}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "connected" and body["last_error"] == ""
    assert set(body) == {
        "id",
        "provider",
        "name",
        "status",
        "last_error",
        "last_checked_at",
        "new_contact_status",
        "created_at",
    }
    assert body["new_contact_status"] == "subscribed"  # the default
    _secrets_absent(response.content.decode(), KEY)
    assert Integration.objects.get().credentials == {"api_key": KEY}


def test_refused_key_is_saved_with_a_clear_error(creator, brevo):
    brevo.on(
        "GET", "/v3/account", json_answer(401, {"code": "unauthorized", "message": "Key not found"})
    )
    response = api_client(creator).post(
        "/api/v1/integrations",
        {"provider": "brevo", "name": "Brevo", "credentials": {"api_key": KEY}},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "error"
    assert body["last_error"].startswith("Brevo refused the credentials (HTTP 401)")
    _secrets_absent(response.content.decode(), KEY)


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"provider": "nope", "credentials": {}}, "Unknown provider"),
        ({"provider": "brevo", "credentials": {"key": "x"}}, "unexpected: key"),
        ({"provider": "mailchimp", "credentials": {"api_key": "abc"}}, "data centre"),
        ({"provider": "activecampaign", "credentials": {"api_key": "abc"}}, "'api_url'"),
        ({"provider": "brevo"}, "credentials"),
    ],
)
def test_malformed_input_is_a_clear_4xx(creator, payload, says):
    response = api_client(creator).post("/api/v1/integrations", payload, format="json")
    assert response.status_code in (400, 422)
    assert says in response.json()["error"]["message"]
    assert not Integration.objects.exists()


def test_patch_without_credentials_keeps_them(creator, brevo):
    integration = IntegrationFactory(creator=creator, credentials={"api_key": KEY})
    response = api_client(creator).patch(
        f"/api/v1/integrations/{integration.uuid}", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 200
    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.credentials == {"api_key": KEY}
    assert brevo.requests == []


def test_patch_with_credentials_replaces_and_revalidates(creator, brevo):
    brevo.on("GET", "/v3/account", json_answer(200, {}))
    integration = IntegrationFactory(creator=creator)
    response = api_client(creator).patch(
        f"/api/v1/integrations/{integration.uuid}",
        {"credentials": {"api_key": KEY}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "connected"
    assert brevo.calls()[0].headers["api-key"] == KEY
    changing = api_client(creator).patch(
        f"/api/v1/integrations/{integration.uuid}", {"provider": "mailchimp"}, format="json"
    )
    assert changing.status_code == 422


def test_the_status_of_new_contacts_is_set_on_create_and_patch(creator, settings):
    from tests.notifications.providers.fakes.mailchimp import MailchimpFake

    with MailchimpFake() as mailchimp:
        settings.PROVIDER_BASE_URLS = {"mailchimp": mailchimp.url}
        client = api_client(creator)
        created = client.post(
            "/api/v1/integrations",
            {
                "provider": "mailchimp",
                "credentials": mailchimp.credentials(),
                "new_contact_status": "transactional",
            },
            format="json",
        )
        assert created.status_code == 201, created.content
        assert created.json()["new_contact_status"] == "transactional"
        url = f"/api/v1/integrations/{created.json()['id']}"
        patched = client.patch(url, {"new_contact_status": "pending"}, format="json")
        assert patched.status_code == 200
        assert patched.json()["new_contact_status"] == "pending"
        assert client.get(url).json()["new_contact_status"] == "pending"
        assert mailchimp.writes() == []  # changing it calls nobody


@pytest.mark.parametrize(
    ("provider", "value", "says"),
    [
        ("brevo", "pending", "Brevo cannot give new contacts the status 'pending'"),
        ("brevo", "maybe", "not a valid choice"),
        ("mailchimp", 7, "not a valid choice"),
    ],
)
def test_a_status_the_provider_does_not_have_is_refused(creator, provider, value, says):
    integration = IntegrationFactory(creator=creator, provider=provider)
    response = api_client(creator).patch(
        f"/api/v1/integrations/{integration.uuid}", {"new_contact_status": value}, format="json"
    )
    assert response.status_code in (400, 422)
    assert says in str(response.json()["error"])
    integration.refresh_from_db()
    assert integration.new_contact_status == "subscribed"


def test_validate_on_demand_and_lists_for_the_rule_builder(creator, brevo):
    brevo.on("GET", "/v3/account", json_answer(500, {"message": "oops"}))
    brevo.on(
        "GET",
        "/v3/contacts/lists",
        json_answer(200, {"lists": [{"id": 7, "name": "Buyers"}], "count": 1}),
    )
    integration = IntegrationFactory(creator=creator)
    client = api_client(creator)
    response = client.post(f"/api/v1/integrations/{integration.uuid}/validate")
    assert response.status_code == 200
    assert response.json()["status"] == "error"
    assert "internal error (HTTP 500)" in response.json()["last_error"]
    lists = client.get(f"/api/v1/integrations/{integration.uuid}/lists")
    assert lists.json() == {"results": [{"id": "7", "name": "Buyers"}]}
    tags = client.get(f"/api/v1/integrations/{integration.uuid}/tags")
    assert tags.json() == {"results": []}


def test_provider_failure_on_lists_is_a_clear_error(creator, brevo):
    brevo.on("GET", "/v3/contacts/lists", json_answer(401, {"message": "Key not found"}))
    integration = IntegrationFactory(creator=creator)
    response = api_client(creator).get(f"/api/v1/integrations/{integration.uuid}/lists")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "provider_error"


def test_delete_refused_while_in_use(creator):
    integration = IntegrationFactory(creator=creator)
    services.register_in_use_checker(
        "test", lambda i: "used by segmentation rule 'Churn'" if i.name == "busy" else None
    )
    try:
        Integration.objects.filter(pk=integration.pk).update(name="busy")
        response = api_client(creator).delete(f"/api/v1/integrations/{integration.uuid}")
        assert response.status_code == 409
        assert "Churn" in response.json()["error"]["message"]
        Integration.objects.filter(pk=integration.pk).update(name="free")
        response = api_client(creator).delete(f"/api/v1/integrations/{integration.uuid}")
        assert response.status_code == 204
        assert not Integration.objects.exists()
    finally:
        services._IN_USE_CHECKERS.pop("test")


def test_tenancy_and_roles(creator):
    foreign = IntegrationFactory()
    mine = IntegrationFactory(creator=creator)
    client = api_client(creator)
    assert client.get(f"/api/v1/integrations/{foreign.uuid}").status_code == 404
    assert client.get("/api/v1/integrations/not-a-uuid").status_code == 404
    assert client.post(f"/api/v1/integrations/{foreign.uuid}/validate").status_code == 404
    viewer = api_client(creator, Role.VIEWER)
    assert viewer.get(f"/api/v1/integrations/{mine.uuid}").status_code == 200
    assert viewer.delete(f"/api/v1/integrations/{mine.uuid}").status_code == 403
    assert (
        viewer.post("/api/v1/webhook-endpoints", {"url": "https://a.example.com"}).status_code
        == 403
    )
    foreign_endpoint = WebhookEndpointFactory()
    assert client.get(f"/api/v1/webhook-endpoints/{foreign_endpoint.uuid}").status_code == 404
    assert (
        client.get(f"/api/v1/webhook-endpoints/{foreign_endpoint.uuid}/deliveries").status_code
        == 404
    )


def _count_queries(client, url):  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx), response.json()


def test_list_query_counts_do_not_grow_with_rows(creator):
    client = api_client(creator)
    IntegrationFactory(creator=creator)
    endpoint = WebhookEndpointFactory(creator=creator)
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    events = [
        SubscriptionEvent(
            creator=creator,
            subscription=subscription,
            type="charge.failed",
            data={},
            occurred_at=subscription.started_at,
        )
        for _ in range(50)
    ]
    SubscriptionEvent.objects.bulk_create(events)
    first = SubscriptionEvent.objects.first()
    webhook_deliveries_create_for_event(first)
    client.get("/api/v1/integrations")  # the key's first use records last_used_at once
    one = {
        path: _count_queries(client, path)[0]
        for path in (
            "/api/v1/integrations",
            "/api/v1/webhook-endpoints",
            f"/api/v1/webhook-endpoints/{endpoint.uuid}/deliveries",
        )
    }
    IntegrationFactory.create_batch(49, creator=creator)
    WebhookEndpointFactory.create_batch(49, creator=creator, events=["webhook.none"])
    for event in SubscriptionEvent.objects.exclude(pk=first.pk):
        webhook_deliveries_create_for_event(event)
    for path, count in one.items():
        many, body = _count_queries(client, path)
        assert len(body["results"]) == 50
        assert many == count, path
