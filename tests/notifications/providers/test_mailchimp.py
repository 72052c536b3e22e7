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

ANA = Contact(email="Ana@Example.com", first_name="Ana", last_name="Souza", locale="pt-BR")
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


def test_tags_are_the_audiences_static_segments_paged_to_the_end(fake, integration):
    page = [{"id": n, "name": f"vip-{n}"} for n in range(1000)]
    fake.on(
        "GET",
        "/3.0/lists/a1/segments",
        json_answer(200, {"segments": page, "total_items": 1001}),
        json_answer(200, {"segments": [{"id": 5000, "name": "vip"}], "total_items": 1001}),
    )
    tags = provider_for(integration).tags("a1")
    assert len(tags) == 1001 and tags[-1].name == "vip"
    first, second = fake.calls("GET", "/3.0/lists/a1/segments")
    assert first.query["type"] == ["static"] and first.query["offset"] == ["0"]
    assert second.query["offset"] == ["1000"]


def test_tags_without_an_audience_is_a_permanent_error(fake, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).tags(None)
    assert info.value.permanent and "audience" in info.value.message
    assert fake.requests == []


def test_add_to_list_puts_the_member_by_md5_of_lowercased_email(fake, integration):
    fake.on("PUT", MEMBER, json_answer(200, {"id": ANA_HASH, "status": "subscribed"}))
    provider_for(integration).add_to_list(ANA, "a1")
    integration.new_contact_status = "pending"
    provider_for(integration).add_to_list(Contact(email="Ana@Example.com"), "a1")
    first, second = fake.calls("PUT", MEMBER)
    assert first.json() == {
        "email_address": "Ana@Example.com",
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Ana", "LNAME": "Souza"},
        "language": "pt",
    }
    # Double opt-in chosen; no names known, so none sent; never a `status`.
    assert second.json() == {"email_address": "Ana@Example.com", "status_if_new": "pending"}
    assert basic_password(first.headers["authorization"]) == integration.credentials["api_key"]


def test_remove_from_list_archives_only_a_member_who_gets_email(fake, integration):
    fake.on(
        "GET",
        MEMBER,
        json_answer(200, {"status": "subscribed"}),
        json_answer(200, {"status": "unsubscribed"}),
        json_answer(404, {"title": "Resource Not Found", "status": 404}),
    )
    fake.on("DELETE", MEMBER, Answer(status=204))
    provider = provider_for(integration)
    for _ in range(3):
        provider.remove_from_list(ANA, "a1")
    assert [c.method for c in fake.requests] == ["GET", "DELETE", "GET", "GET"]
    assert fake.requests[0].query == {"fields": ["status"]}


def test_add_tag_is_one_call_for_a_member(fake, integration):
    fake.on("POST", f"{MEMBER}/tags", Answer(status=204))
    provider = provider_for(integration)
    provider.add_tag(ANA, "vip", "a1")
    provider.remove_tag(ANA, "vip", "a1")
    assert [c.json() for c in fake.requests] == [
        {"tags": [{"name": "vip", "status": "active"}]},
        {"tags": [{"name": "vip", "status": "inactive"}]},
    ]


def test_add_tag_adds_a_stranger_as_transactional_carrying_the_tag(fake, integration):
    integration.new_contact_status = "subscribed"
    not_found = json_answer(404, {"title": "Resource Not Found", "status": 404})
    fake.on("POST", f"{MEMBER}/tags", not_found)
    fake.on("POST", "/3.0/lists/a1/members", json_answer(200, {"id": ANA_HASH}))
    provider_for(integration).add_tag(ANA, "vip", "a1")
    [created] = fake.calls("POST", "/3.0/lists/a1/members")
    assert created.json() == {
        "email_address": "Ana@Example.com",
        "merge_fields": {"FNAME": "Ana", "LNAME": "Souza"},
        "language": "pt",
        "status": "transactional",
        "tags": ["vip"],
    }


def test_add_tag_tags_a_member_another_worker_added_meanwhile(fake, integration):
    not_found = json_answer(404, {"title": "Resource Not Found", "status": 404})
    fake.on("POST", f"{MEMBER}/tags", not_found, Answer(status=204))
    exists = {"title": "Member Exists", "status": 400, "detail": "Ana@Example.com is already a"}
    fake.on("POST", "/3.0/lists/a1/members", json_answer(400, exists))
    provider_for(integration).add_tag(ANA, "vip", "a1")
    assert [(c.method, c.path) for c in fake.requests] == [
        ("POST", f"{MEMBER}/tags"),
        ("POST", "/3.0/lists/a1/members"),
        ("POST", f"{MEMBER}/tags"),
    ]


def test_remove_tag_of_a_stranger_creates_nothing(fake, integration):
    fake.on("POST", f"{MEMBER}/tags", json_answer(404, {"title": "Resource Not Found"}))
    provider_for(integration).remove_tag(ANA, "vip", "a1")
    assert [(c.method, c.path) for c in fake.requests] == [("POST", f"{MEMBER}/tags")]


def test_field_errors_reach_the_message(fake, integration):
    fake.on(
        "PUT",
        MEMBER,
        json_answer(
            400,
            {
                "title": "Invalid Resource",
                "status": 400,
                "detail": "The resource submitted could not be validated. For field-specific "
                "details, see the 'errors' array.",
                "errors": [{"field": "merge_fields.BIRTHDAY", "message": "Please enter a date"}],
            },
        ),
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(ANA, "a1")
    assert info.value.permanent and info.value.status == 400
    assert info.value.details == ("merge_fields.BIRTHDAY: Please enter a date",)
    assert "merge_fields.BIRTHDAY: Please enter a date" in info.value.message


def test_a_deleted_audience_is_a_permanent_error_on_writes(fake, integration):
    fake.on(
        "PUT",
        MEMBER,
        json_answer(404, {"title": "Resource Not Found", "status": 404, "detail": "gone"}),
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(ANA, "a1")
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
