from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from notifications.providers import Contact, CredentialsInvalid, provider_class, provider_for
from notifications.providers.ratelimit import RateLimit
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
ANA_JSON = {"id": "42", "email": "ana@example.com"}


@pytest.fixture
def integration(db):  # type: ignore[no-untyped-def]
    return IntegrationFactory(provider="activecampaign")


def test_validate_reads_the_current_user_with_the_api_token(fake, integration):
    fake.on("GET", "/api/3/users/me", json_answer(200, {"user": {"id": "1"}}))
    check_connected(integration)
    [call] = fake.calls("GET", "/api/3/users/me")
    assert call.headers["api-token"] == integration.credentials["api_key"]


def test_base_url_is_the_account_url(settings, integration):
    settings.PROVIDER_BASE_URLS = {}
    client = provider_for(integration).client  # type: ignore[attr-defined]
    assert client.base_url == "https://example.api-us1.com"


def test_lists_and_tags(fake, integration):
    fake.on(
        "GET",
        "/api/3/lists",
        json_answer(200, {"lists": [{"id": "1", "name": "Newsletter"}], "meta": {"total": "1"}}),
    )
    fake.on(
        "GET",
        "/api/3/tags",
        json_answer(200, {"tags": [{"id": "5", "tag": "vip"}], "meta": {"total": "1"}}),
    )
    provider = provider_for(integration)
    assert [(x.id, x.name) for x in provider.lists()] == [("1", "Newsletter")]
    assert [(t.id, t.name) for t in provider.tags()] == [("5", "vip")]
    assert fake.calls("GET", "/api/3/lists")[0].query == {"limit": ["100"], "offset": ["0"]}


def test_add_tag_syncs_only_the_known_fields(fake, integration):
    fake.on("POST", "/api/3/contact/sync", json_answer(201, {"contact": {"id": "42"}}))
    fake.on(
        "GET", "/api/3/tags", json_answer(200, {"tags": [{"id": "9", "tag": "vip"}], "meta": {}})
    )
    fake.on("POST", "/api/3/contactTags", json_answer(201, {"contactTag": {"id": "77"}}))
    provider_for(integration).add_tag(ANA, "vip")
    provider_for(IntegrationFactory(provider="activecampaign")).add_tag(
        Contact(email="bia@example.com"), "vip"
    )
    first, second = fake.calls("POST", "/api/3/contact/sync")
    assert first.json() == {
        "contact": {"email": "ana@example.com", "firstName": "Ana", "lastName": "Souza"}
    }
    assert second.json() == {"contact": {"email": "bia@example.com"}}
    assert first.headers["api-token"] == integration.credentials["api_key"]


def test_list_membership_is_status_1_and_2(fake, integration):
    fake.on("POST", "/api/3/contact/sync", json_answer(201, {"contact": {"id": "42"}}))
    fake.on(
        "GET",
        "/api/3/contacts/42/contactLists",
        json_answer(200, {"contactLists": []}),
        json_answer(200, {"contactLists": [{"list": "1", "status": "1"}]}),
    )
    fake.on("POST", "/api/3/contactLists", json_answer(201, {"contactList": {"id": "3"}}))
    provider = provider_for(integration)
    provider.add_to_list(ANA, "1")
    provider.remove_from_list(ANA, "1")
    bodies = [c.json() for c in fake.calls("POST", "/api/3/contactLists")]
    assert bodies == [
        {"contactList": {"list": "1", "contact": "42", "status": 1}},
        {"contactList": {"list": "1", "contact": "42", "status": 2}},
    ]
    # The contact id was kept from the sync: the removal looked nothing up.
    assert fake.calls("GET", "/api/3/contacts") == []


@pytest.mark.parametrize(("status", "meaning"), [("2", "unsubscribed"), ("0", "unconfirmed")])
def test_a_contact_with_a_status_on_the_list_is_never_sent_status_1(
    fake, integration, status, meaning
):
    fake.on("POST", "/api/3/contact/sync", json_answer(200, {"contact": {"id": "42"}}))
    fake.on(
        "GET",
        "/api/3/contacts/42/contactLists",
        json_answer(200, {"contactLists": [{"list": "1", "status": status}]}),
    )
    provider_for(integration).add_to_list(ANA, "1")
    assert fake.calls("POST", "/api/3/contactLists") == [], meaning


def test_removing_an_unknown_contact_from_a_list_is_a_no_op(fake, integration):
    fake.on("GET", "/api/3/contacts", json_answer(200, {"contacts": []}))
    provider_for(integration).remove_from_list(ANA, "1")
    assert fake.calls("POST") == []


def test_add_tag_creates_a_missing_tag_and_links_it(fake, integration):
    fake.on("POST", "/api/3/contact/sync", json_answer(201, {"contact": {"id": "42"}}))
    fake.on("GET", "/api/3/tags", json_answer(200, {"tags": [{"id": "8", "tag": "vipx"}]}))
    fake.on("POST", "/api/3/tags", json_answer(201, {"tag": {"id": "9", "tag": "vip"}}))
    fake.on("POST", "/api/3/contactTags", json_answer(201, {"contactTag": {"id": "77"}}))
    provider_for(integration).add_tag(ANA, "vip")
    assert fake.calls("GET", "/api/3/tags")[0].query == {
        "search": ["vip"],
        "limit": ["100"],
        "offset": ["0"],
    }
    assert fake.calls("POST", "/api/3/tags")[0].json() == {
        "tag": {"tag": "vip", "tagType": "contact", "description": ""}
    }
    assert fake.calls("POST", "/api/3/contactTags")[0].json() == {
        "contactTag": {"contact": "42", "tag": "9"}
    }


def test_remove_tag_deletes_the_contact_tag_link(fake, integration):
    fake.on("GET", "/api/3/contacts", json_answer(200, {"contacts": [ANA_JSON]}))
    fake.on("GET", "/api/3/tags", json_answer(200, {"tags": [{"id": "9", "tag": "VIP"}]}))
    fake.on(
        "GET",
        "/api/3/contacts/42/contactTags",
        json_answer(200, {"contactTags": [{"id": "76", "tag": "3"}, {"id": "77", "tag": "9"}]}),
    )
    fake.on("DELETE", "/api/3/contactTags/77", Answer(status=200, body=b"{}"))
    provider_for(integration).remove_tag(ANA, "vip")
    assert [c.path for c in fake.calls("DELETE")] == ["/api/3/contactTags/77"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_error_matrix(fake, settings, caplog, integration, case):
    key = integration.credentials["api_key"]
    if case.status == 422:
        body = {"errors": [{"title": f"Invalid token {key}", "code": "invalid"}]}
    else:
        body = {"message": f"No access with token {key}"}
    check_error_case(
        case=case,
        fake=fake,
        settings=settings,
        caplog=caplog,
        integration=integration,
        method="GET",
        path="/api/3/users/me",
        error_body=body,
    )


@pytest.mark.parametrize(
    "url",
    ["http://x.api-us1.com", "ftp://x", "https://", "https://u:p@x.api-us1.com", "https://x/y"],
)
def test_credentials_need_an_https_account_url(url):
    with pytest.raises(CredentialsInvalid):
        provider_class("activecampaign").clean_credentials({"api_url": url, "api_key": "k"})


def test_credentials_accept_the_url_with_api_path():
    cleaned = provider_class("activecampaign").clean_credentials(
        {"api_url": " https://x.api-us1.com/api/3/ ", "api_key": " k "}
    )
    assert cleaned == {"api_url": "https://x.api-us1.com", "api_key": "k"}


@pytest.mark.redis
def test_rate_limit_allows_five_per_second_across_threads():
    limiter = RateLimit("notifications:test:ac-limit", per_second=5, label="ActiveCampaign")
    windows: list[int] = []
    lock = threading.Lock()
    original = limiter._count

    def counting(window: int) -> int:
        count = original(window)
        if count <= limiter.per_second:
            with lock:
                windows.append(window)
        return count

    limiter._count = counting  # type: ignore[method-assign]
    started = time.monotonic()
    threads = [threading.Thread(target=limiter.acquire) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(windows) == 12
    assert max(Counter(windows).values()) <= 5
    assert len(set(windows)) >= 3  # 12 requests at 5/s need three seconds' windows
    assert time.monotonic() - started >= 1.0


def test_requests_through_the_adapter_respect_the_limit(fake, integration):
    fake.on("GET", "/api/3/users/me", json_answer(200, {"user": {"id": "1"}}))
    for _ in range(7):
        provider_for(integration).validate()
    seconds = Counter(int(c.at) for c in fake.calls("GET", "/api/3/users/me"))
    assert sum(seconds.values()) == 7
    assert len(seconds) >= 2  # the sixth call waited for the next second


def _contact_links(fake, *, lists=(), tags=()):  # type: ignore[no-untyped-def]
    fake.on("GET", "/api/3/contacts", json_answer(200, {"contacts": [ANA_JSON]}))
    fake.on("GET", "/api/3/tags", json_answer(200, {"tags": [{"id": "9", "tag": "VIP"}]}))
    fake.on(
        "GET",
        "/api/3/contacts/42/contactLists",
        json_answer(200, {"contactLists": [{"list": lid, "status": st} for lid, st in lists]}),
    )
    fake.on(
        "GET",
        "/api/3/contacts/42/contactTags",
        json_answer(200, {"contactTags": [{"id": "77", "tag": t} for t in tags]}),
    )


@pytest.mark.parametrize(
    ("lists", "tags", "expected"),
    [
        ((("5", "1"),), ("9",), {"add_to_list": True, "remove_from_list": False, "add_tag": True}),
        ((("5", "2"),), (), {"add_to_list": False, "remove_from_list": True, "add_tag": False}),
        ((("6", "1"),), ("3",), {"add_to_list": False, "remove_tag": True, "add_tag": False}),
    ],
)
def test_action_applied_reads_list_status_and_tag_links(fake, integration, lists, tags, expected):
    _contact_links(fake, lists=lists, tags=tags)
    provider = provider_for(integration)
    seen = {
        action: provider.action_applied(action, ANA, list_id="5", tag="vip") for action in expected
    }
    assert seen == expected
    assert not fake.calls("POST") and not fake.calls("DELETE")  # reads only


def test_action_applied_for_an_unknown_contact(fake, integration):
    fake.on("GET", "/api/3/contacts", json_answer(200, {"contacts": []}))
    provider = provider_for(integration)
    assert provider.action_applied("add_tag", ANA, tag="vip") is False
    assert provider.action_applied("remove_from_list", ANA, list_id="5") is True


@pytest.fixture
def spec(settings):  # type: ignore[no-untyped-def]
    from tests.notifications.providers.fakes.activecampaign import ActiveCampaignFake

    with ActiveCampaignFake() as server:
        settings.PROVIDER_BASE_URLS = {"activecampaign": server.url}
        server.integration = IntegrationFactory(  # type: ignore[attr-defined]
            provider="activecampaign", credentials=server.credentials()
        )
        yield server


def test_a_cached_tag_deleted_at_activecampaign_is_looked_up_again(spec):
    provider = provider_for(spec.integration)
    spec.seed_tags(["vip"])
    provider.add_tag(ANA, "vip")
    with spec.lock:  # the creator deletes the tag in ActiveCampaign
        spec.tags.clear()
        for person in spec.people.values():
            person.tags.clear()
    provider_for(spec.integration).add_tag(ANA, "vip")
    ana = spec.contact(ANA.email)
    assert ana is not None and ana.tags == {"vip"}
    # The stale id answered 404 once; then the tag was looked up and created again.
    assert [c.status for c in spec.calls_to("POST", "/api/3/contactTags")] == [201, 404, 201]
    assert len(spec.calls_to("POST", "/api/3/tags")) == 1


def test_a_tag_created_by_another_worker_meanwhile_is_used(spec):
    from tests.notifications.providers.fakes import Reply

    spec.seed_tags(["vip"])
    # This worker's lookup comes back empty; by its POST the tag exists (422 duplicate).
    spec.fail_next(Reply(200, {"tags": [], "meta": {"total": "0"}}), path_prefix="/api/3/tags")
    provider_for(spec.integration).add_tag(ANA, "vip")
    ana = spec.contact(ANA.email)
    assert ana is not None and ana.tags == {"vip"}
    assert [c.status for c in spec.calls_to("POST", "/api/3/tags")] == [422]
