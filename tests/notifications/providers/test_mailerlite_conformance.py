"""Conformance with MailerLite's official Python SDK (`mailerlite` on PyPI): the SDK and
our adapter perform the same operation against one local recording server, and must
send the same method, path, query and body keys (and the same auth and JSON headers).
A change to one of our paths, methods or body keys makes these tests fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import mailerlite
import pytest

from notifications.providers import Contact, provider_for
from tests.notifications.factories import IntegrationFactory
from tests.notifications.providers.fakes.base import Call
from tests.notifications.providers.fakes.mailerlite import MailerLiteFake

pytestmark = pytest.mark.django_db

ANA = Contact.from_name(email="ana@example.com", name="Ana Souza")


@pytest.fixture
def server(settings) -> Iterator[MailerLiteFake]:  # type: ignore[no-untyped-def]
    with MailerLiteFake() as fake:
        settings.PROVIDER_BASE_URLS = {"mailerlite": fake.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield fake


@pytest.fixture
def integration(db, server):  # type: ignore[no-untyped-def]
    return IntegrationFactory(provider="mailerlite", credentials=server.credentials())


@pytest.fixture
def sdk(server, integration) -> mailerlite.Client:  # type: ignore[no-untyped-def]
    client = mailerlite.Client({"api_key": integration.credentials["api_key"]})
    client.api_client.HOST = f"{server.url}/"  # the SDK's one base-URL setting
    return client


def shape(call: Call) -> dict[str, Any]:
    body = call.body if call.body else None
    return {
        "method": call.method,
        "path": call.path,
        "query": call.query,
        "body_keys": sorted(body) if isinstance(body, dict) else [],
        "fields_keys": sorted((body or {}).get("fields") or {}) if isinstance(body, dict) else [],
        "authorization": call.headers.get("authorization"),
        "accept": call.headers.get("accept"),
    }


def recorded(server: MailerLiteFake, run: Callable[[], object]) -> list[Call]:
    start = len(server.calls)
    run()
    return server.calls[start:]


def test_validate_and_lists_read_groups_like_the_sdk(server, sdk, integration):
    provider = provider_for(integration)
    [theirs] = recorded(server, lambda: sdk.groups.list(limit=1, page=1))
    [ours] = recorded(server, provider.validate)
    assert shape(ours) == shape(theirs)
    [theirs] = recorded(server, lambda: sdk.groups.list(limit=100, page=1))
    [ours] = recorded(server, provider.lists)
    assert shape(ours) == shape(theirs)


def test_looking_up_a_subscriber_matches_the_sdk(server, sdk, integration):
    server.add_subscriber("ana@example.com")
    [theirs] = recorded(server, lambda: sdk.subscribers.get("ana@example.com"))
    ours = recorded(
        server,
        lambda: provider_for(integration).action_applied(
            "add_to_list", ANA, list_id=server.add_group("G")
        ),
    )
    assert shape(ours[0]) == shape(theirs)


def test_creating_a_subscriber_in_a_group_matches_the_sdk(server, sdk, integration):
    group = server.add_group("Customers")
    [theirs] = recorded(
        server,
        lambda: sdk.subscribers.create(
            "ana@example.com",
            fields={"name": "Ana", "last_name": "Souza"},
            groups=[group],
            status="active",
        ),
    )
    server.subscribers.clear()
    _, ours = recorded(server, lambda: provider_for(integration).add_to_list(ANA, group))
    assert shape(ours) == shape(theirs)
    assert ours.body == theirs.body


def test_assigning_and_unassigning_a_group_match_the_sdk(server, sdk, integration):
    group = server.add_group("Customers")
    sub = server.add_subscriber("ana@example.com")
    provider = provider_for(integration)
    [theirs] = recorded(
        server, lambda: sdk.subscribers.assign_subscriber_to_group(int(sub["id"]), int(group))
    )
    sub["groups"].clear()
    _, ours = recorded(server, lambda: provider.add_to_list(ANA, group))
    assert shape(ours) == shape(theirs)

    [theirs] = recorded(
        server, lambda: sdk.subscribers.unassign_subscriber_from_group(int(sub["id"]), int(group))
    )
    sub["groups"].append(group)
    *_, ours = recorded(server, lambda: provider.remove_from_list(ANA, group))
    assert shape(ours) == shape(theirs)
