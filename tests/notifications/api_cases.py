"""Route cases of the integrations API for the tenant-isolation matrix
(see tests/api/route_cases.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from accounts.models import Creator
from tests.api.route_cases import Built, Call, RouteCase, as_list
from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import FakeServer, json_answer


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
}
