from __future__ import annotations

import base64
import hashlib
import threading

import pytest

from core.errors import DomainError
from notifications.models import Integration
from notifications.providers import (
    Contact,
    CredentialsInvalid,
    ProviderError,
    provider_class,
    provider_for,
)
from notifications.services import integration_create
from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import Answer, json_answer
from tests.notifications.providers.contract import (
    CASE_IDS,
    CASES,
    check_connected,
    check_error_case,
)

pytestmark = pytest.mark.django_db

ANA = Contact(email="Ana@Example.com", name="Ana Souza", locale="pt-BR")
ANA_HASH = hashlib.md5(b"ana@example.com").hexdigest()  # noqa: S324 (Mailchimp's member id)
MEMBER = f"/3.0/lists/a1/members/{ANA_HASH}"


@pytest.fixture
def integration(db):  # type: ignore[no-untyped-def]
    return IntegrationFactory(provider="mailchimp")


def basic_password(header: str) -> str:
    scheme, _, token = header.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(token).decode().partition(":")[2]


def test_validate_pings_with_basic_auth_and_connects(fake, integration):
    fake.on("GET", "/3.0/ping", json_answer(200, {"health_status": "Everything's Chimpy!"}))
    check_connected(integration)
    [call] = fake.calls("GET", "/3.0/ping")
    assert basic_password(call.headers["authorization"]) == integration.credentials["api_key"]


def test_base_url_comes_from_the_key_data_centre(settings, integration):
    settings.PROVIDER_BASE_URLS = {}
    client = provider_for(integration).client  # type: ignore[attr-defined]
    assert client.base_url == "https://us21.api.mailchimp.com"


def test_lists_are_the_audiences(fake, integration):
    fake.on(
        "GET",
        "/3.0/lists",
        json_answer(200, {"lists": [{"id": "a1", "name": "Main"}], "total_items": 1}),
    )
    lists = provider_for(integration).lists()
    assert [(x.id, x.name) for x in lists] == [("a1", "Main")]
    [call] = fake.calls("GET", "/3.0/lists")
    assert call.query["count"] == ["1000"] and call.query["offset"] == ["0"]


def test_tags_come_from_the_audience(fake, integration):
    fake.on(
        "GET",
        "/3.0/lists/a1/tag-search",
        json_answer(200, {"tags": [{"id": 11, "name": "vip"}], "total_items": 1}),
    )
    tags = provider_for(integration).tags("a1")
    assert [(t.id, t.name) for t in tags] == [("11", "vip")]


def test_tags_without_an_audience_is_a_permanent_error(fake, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).tags(None)
    assert info.value.permanent and "audience" in info.value.message
    assert fake.requests == []


def test_upsert_puts_the_member_by_md5_of_lowercased_email(fake, integration):
    fake.on("PUT", MEMBER, json_answer(200, {"id": ANA_HASH, "status": "subscribed"}))
    provider_for(integration).upsert_contact(ANA, "a1")
    [call] = fake.calls("PUT", MEMBER)
    assert call.json() == {
        "email_address": "Ana@Example.com",
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Ana", "LNAME": "Souza"},
        "language": "pt",
    }
    assert basic_password(call.headers["authorization"]) == integration.credentials["api_key"]


def test_add_to_list_upserts_and_remove_archives(fake, integration):
    fake.on("PUT", MEMBER, json_answer(200, {"id": ANA_HASH}))
    fake.on("DELETE", MEMBER, Answer(status=204))
    provider = provider_for(integration)
    provider.add_to_list(ANA, "a1")
    provider.remove_from_list(ANA, "a1")
    assert [(c.method, c.path) for c in fake.requests] == [("PUT", MEMBER), ("DELETE", MEMBER)]


def test_tags_are_set_active_and_inactive_on_the_member(fake, integration):
    fake.on("PUT", MEMBER, json_answer(200, {"id": ANA_HASH}))
    fake.on("POST", f"{MEMBER}/tags", Answer(status=204))
    provider = provider_for(integration)
    provider.add_tag(ANA, "vip", "a1")
    provider.remove_tag(ANA, "vip", "a1")
    tag_calls = fake.calls("POST", f"{MEMBER}/tags")
    assert [c.json() for c in tag_calls] == [
        {"tags": [{"name": "vip", "status": "active"}]},
        {"tags": [{"name": "vip", "status": "inactive"}]},
    ]
    # Tagging needs a member, so add_tag upserts first.
    assert [c.method for c in fake.requests] == ["PUT", "POST", "POST"]


def test_a_deleted_audience_is_a_permanent_error_on_writes(fake, integration):
    fake.on(
        "PUT",
        MEMBER,
        json_answer(404, {"title": "Resource Not Found", "status": 404, "detail": "gone"}),
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).upsert_contact(ANA, "a1")
    assert info.value.permanent and info.value.status == 404


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_error_matrix(fake, settings, caplog, integration, case):
    key = integration.credentials["api_key"]
    body = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": "API Key Invalid",
        "status": case.status,
        "detail": f"Your API key {key} may be invalid.",
    }
    check_error_case(
        case=case,
        fake=fake,
        settings=settings,
        caplog=caplog,
        integration=integration,
        method="GET",
        path="/3.0/ping",
        error_body=body,
        content_type="application/problem+json",
    )


def test_problem_detail_reaches_the_creator_without_the_key(fake, integration):
    key = integration.credentials["api_key"]
    fake.on(
        "GET",
        "/3.0/ping",
        json_answer(401, {"title": "API Key Invalid", "detail": f"Key {key} is bad"}),
    )
    from notifications.services import integration_validate

    integration_validate(integration=integration)
    assert "API Key Invalid" in integration.last_error
    assert key not in integration.last_error and "[redacted]" in integration.last_error


@pytest.mark.parametrize(
    "credentials",
    [{"api_key": "abc"}, {"api_key": "abc-"}, {"api_key": "abc-us21.evil.com"}, {}, "key"],
)
def test_credentials_need_a_key_with_a_data_centre(credentials):
    with pytest.raises(CredentialsInvalid):
        provider_class("mailchimp").clean_credentials(credentials)


def test_creating_with_malformed_credentials_is_refused_before_saving(creator, fake):
    with pytest.raises(DomainError) as info:
        integration_create(
            creator=creator, provider="mailchimp", name="MC", credentials={"api_key": "nodc"}
        )
    assert "data centre" in info.value.message
    assert not Integration.objects.exists()
    assert fake.requests == []


@pytest.mark.redis
def test_at_most_ten_connections_at_once_across_threads(fake, integration):
    fake.on(
        "GET",
        "/3.0/lists",
        Answer(
            status=200,
            body=b'{"lists": [], "total_items": 0}',
            headers={"Content-Type": "application/json"},
            delay=0.3,
        ),
    )
    errors: list[BaseException] = []

    def call() -> None:
        try:
            provider_for(integration).lists()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(fake.calls("GET", "/3.0/lists")) == 16
    assert 2 <= fake.max_in_flight <= 10


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            json_answer(200, {"status": "subscribed", "tags": [{"id": 1, "name": "VIP"}]}),
            {"add_to_list": True, "remove_from_list": False, "add_tag": True, "remove_tag": False},
        ),
        (
            json_answer(200, {"status": "unsubscribed", "tags": []}),
            {"add_to_list": True, "remove_from_list": False, "add_tag": False, "remove_tag": True},
        ),
        (
            json_answer(200, {"status": "archived", "tags": [{"id": 1, "name": "vip"}]}),
            {"add_to_list": False, "remove_from_list": True, "add_tag": False, "remove_tag": True},
        ),
        (
            json_answer(404, {"title": "Resource Not Found", "status": 404}),
            {"add_to_list": False, "remove_from_list": True, "add_tag": False, "remove_tag": True},
        ),
    ],
)
def test_action_applied_reads_the_member(fake, integration, answer, expected):
    fake.on("GET", MEMBER, answer)
    provider = provider_for(integration)
    seen = {a: provider.action_applied(a, ANA, list_id="a1", tag="vip") for a in expected}
    assert seen == expected
    assert {c.method for c in fake.requests} == {"GET"}
    assert fake.requests[0].query == {"fields": ["status,tags"]}


def test_action_applied_passes_other_errors_on(fake, integration):
    fake.on("GET", MEMBER, json_answer(401, {"title": "API Key Invalid", "status": 401}))
    with pytest.raises(ProviderError) as info:
        provider_for(integration).action_applied("add_tag", ANA, list_id="a1", tag="vip")
    assert info.value.auth
