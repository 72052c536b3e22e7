from __future__ import annotations

import pytest

from notifications.providers import Contact, ProviderError, provider_for
from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import Answer, json_answer
from tests.notifications.providers.contract import (
    CASE_IDS,
    CASES,
    check_connected,
    check_error_case,
)

pytestmark = pytest.mark.django_db

ANA = Contact(email="ana@example.com", first_name="Ana", last_name="Souza")


@pytest.fixture
def integration(db):  # type: ignore[no-untyped-def]
    return IntegrationFactory(provider="brevo")


def test_validate_reads_the_account_with_the_api_key_header(fake, integration):
    fake.on("GET", "/v3/account", json_answer(200, {"email": "owner@example.com"}))
    check_connected(integration)
    [call] = fake.calls("GET", "/v3/account")
    assert call.headers["api-key"] == integration.credentials["api_key"]


def test_base_url_is_brevos(settings, integration):
    settings.PROVIDER_BASE_URLS = {}
    client = provider_for(integration).client  # type: ignore[attr-defined]
    assert client.base_url == "https://api.brevo.com"


def test_lists_are_paged_by_fifty(fake, integration):
    fake.on(
        "GET",
        "/v3/contacts/lists",
        json_answer(200, {"lists": [{"id": 2, "name": "Customers"}], "count": 1}),
    )
    assert [(x.id, x.name) for x in provider_for(integration).lists()] == [("2", "Customers")]
    assert fake.calls()[0].query == {"limit": ["50"], "offset": ["0"]}


def test_add_to_list_is_one_create_or_update_with_the_list(fake, integration):
    fake.on("POST", "/v3/contacts", Answer(status=204))
    provider_for(integration).add_to_list(ANA, "2")
    provider_for(integration).add_to_list(Contact(email="bia@example.com"), "2")
    first, second = fake.calls("POST", "/v3/contacts")
    assert first.json() == {
        "email": "ana@example.com",
        "attributes": {"FIRSTNAME": "Ana", "LASTNAME": "Souza"},
        "listIds": [2],
        "updateEnabled": True,
    }
    assert second.json() == {"email": "bia@example.com", "listIds": [2], "updateEnabled": True}
    assert first.headers["api-key"] == integration.credentials["api_key"]
    assert len(fake.requests) == 2  # never the …/contacts/add call Brevo refuses with 400


def test_remove_from_list_takes_brevos_not_in_list_answer_as_done(fake, integration):
    fake.on(
        "POST",
        "/v3/contacts/lists/2/contacts/remove",
        json_answer(201, {"contacts": {"success": ["ana@example.com"], "failure": []}}),
        json_answer(
            400,
            {
                "code": "invalid_parameter",
                "message": "Contact already removed from list and/or does not exist",
            },
        ),
        json_answer(404, {"code": "document_not_found", "message": "List ID does not exist"}),
    )
    provider = provider_for(integration)
    provider.remove_from_list(ANA, "2")
    provider.remove_from_list(ANA, "2")
    with pytest.raises(ProviderError) as info:
        provider.remove_from_list(ANA, "2")
    assert (info.value.status, info.value.permanent) == (404, True)
    assert "List ID does not exist" in info.value.message
    assert fake.requests[0].json() == {"emails": ["ana@example.com"]}
    assert fake.requests[2].json() == {"emails": ["ana@example.com"]}


def test_brevo_has_no_tags(fake, integration):
    provider = provider_for(integration)
    assert provider.tags() == []
    for action in (provider.add_tag, provider.remove_tag):
        with pytest.raises(ProviderError) as info:
            action(ANA, "vip")
        assert info.value.permanent and "no contact tags" in info.value.message
    assert fake.requests == []


def test_a_non_numeric_list_id_is_refused_without_a_call(fake, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).remove_from_list(ANA, "abc")
    assert info.value.permanent
    assert fake.requests == []


def test_429_waits_for_the_documented_reset_header(fake, integration):
    fake.on(
        "GET",
        "/v3/account",
        json_answer(
            429,
            {"code": "too_many_requests", "message": "slow down"},
            **{"x-sib-ratelimit-reset": "3"},
        ),
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).validate()
    assert info.value.permanent is False and info.value.retry_after == 3.0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_error_matrix(fake, settings, caplog, integration, case):
    key = integration.credentials["api_key"]
    check_error_case(
        case=case,
        fake=fake,
        settings=settings,
        caplog=caplog,
        integration=integration,
        method="GET",
        path="/v3/account",
        error_body={"code": "unauthorized", "message": f"Key not found: {key}"},
    )


def test_action_applied_reads_the_contacts_lists(fake, integration):
    fake.on("GET", "/v3/contacts/ana%40example.com", json_answer(200, {"listIds": [2, 7]}))
    provider = provider_for(integration)
    assert provider.action_applied("add_to_list", ANA, list_id="2") is True
    assert provider.action_applied("remove_from_list", ANA, list_id="2") is False
    assert provider.action_applied("add_to_list", ANA, list_id="3") is False
    assert provider.action_applied("add_tag", ANA, tag="vip") is None  # no tags at Brevo
    assert {c.method for c in fake.requests} == {"GET"}


def test_action_applied_for_an_unknown_contact(fake, integration):
    fake.on("GET", "/v3/contacts/ana%40example.com", json_answer(404, {"code": "not_found"}))
    provider = provider_for(integration)
    assert provider.action_applied("add_to_list", ANA, list_id="2") is False
    assert provider.action_applied("remove_from_list", ANA, list_id="2") is True
