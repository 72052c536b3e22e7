"""Route cases of the integrations and webhooks API for the tenant-isolation matrix
(see tests/api/route_cases.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from accounts.models import Creator
from tests.api.route_cases import Built, Call, RouteCase, as_list
from tests.notifications.factories import IntegrationFactory, WebhookEndpointFactory
from tests.notifications.http_server import FakeServer, json_answer
from webhooks.models import WebhookDelivery


@cache
def _brevo() -> FakeServer:
    """One fake Brevo for the whole run: validation and the list picker answer at once."""
    server = FakeServer()
    server.on("GET", "/v3/account", json_answer(200, {"email": "owner@example.com"}))
    server.on("GET", "/v3/contacts/lists", json_answer(200, {"lists": [], "count": 0}))
    return server.__enter__()


def _provider_settings() -> dict[str, Any]:
    return {"PROVIDER_BASE_URLS": {"brevo": _brevo().url}}


def _integration(creator: Creator) -> Built:
    integration = IntegrationFactory(creator=creator, provider="brevo")
    return Built(kwargs={"id": str(integration.uuid)}, refs={"integration": integration})


def _endpoint(creator: Creator) -> Built:
    endpoint = WebhookEndpointFactory(creator=creator)
    return Built(kwargs={"id": str(endpoint.uuid)}, refs={"endpoint": endpoint})


def _delivery(creator: Creator) -> Built:
    endpoint = WebhookEndpointFactory(creator=creator)
    delivery = WebhookDelivery.objects.create(
        creator=creator,
        endpoint=endpoint,
        event=None,
        event_type="test",
        payload={"type": "test", "data": {}},
        status=WebhookDelivery.Status.FAILED,
    )
    return Built(kwargs={"id": str(delivery.uuid)}, refs={"delivery": delivery})


_BREVO_BODY = {"provider": "brevo", "name": "Brevo", "credentials": {"api_key": "xkeysib-test"}}

CASES: dict[str, RouteCase] = {
    "integration-list": RouteCase(
        build=as_list(_integration),
        settings=_provider_settings,
        calls={"get": Call(), "post": Call(ok=201, body=lambda b: _BREVO_BODY, outsider=201)},
    ),
    "integration-detail": RouteCase(
        build=_integration,
        calls={
            "get": Call(),
            "patch": Call(body=lambda b: {"name": "Renamed"}),
            "delete": Call(ok=204),
        },
    ),
    "integration-validate": RouteCase(
        build=_integration, settings=_provider_settings, calls={"post": Call()}
    ),
    "integration-lists": RouteCase(
        build=_integration, settings=_provider_settings, calls={"get": Call()}
    ),
    "integration-tags": RouteCase(
        build=_integration, settings=_provider_settings, calls={"get": Call()}
    ),
    "webhook-endpoint-list": RouteCase(
        build=as_list(_endpoint),
        calls={
            "get": Call(),
            "post": Call(
                ok=201,
                body=lambda b: {"url": "https://hooks.example.com/in", "events": ["*"]},
                outsider=201,
            ),
        },
    ),
    "webhook-endpoint-detail": RouteCase(
        build=_endpoint,
        calls={
            "get": Call(),
            "patch": Call(body=lambda b: {"description": "Changed"}),
            "delete": Call(ok=204),
        },
    ),
    "webhook-endpoint-deliveries": RouteCase(build=_endpoint, calls={"get": Call()}),
    "webhook-endpoint-test": RouteCase(build=_endpoint, calls={"post": Call(ok=202)}),
    "webhook-delivery-detail": RouteCase(build=_delivery, calls={"get": Call()}),
    "webhook-delivery-replay": RouteCase(build=_delivery, calls={"post": Call(ok=202)}),
}
