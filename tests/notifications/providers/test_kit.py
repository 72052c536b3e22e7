"""Kit (API v4): the adapter against a fake built from Kit's API reference
(tests/notifications/providers/fakes/kit.py). Kit publishes no official Python SDK, so
the fake cites the doc pages it follows."""

from __future__ import annotations

import pytest

from notifications.models import Integration
from notifications.providers import Contact, ProviderError, provider_for
from notifications.providers.ratelimit import RateLimit
from notifications.services import integration_validate
from tests.notifications.factories import IntegrationFactory
from tests.notifications.http_server import Answer
from tests.notifications.providers.contract import (
    CASE_IDS,
    CASES,
    check_connected,
    check_error_case,
)
from tests.notifications.providers.fakes.kit import KitFake

pytestmark = pytest.mark.django_db

ANA = Contact.from_name(email="ana@example.com", name="Ana Souza")


@pytest.fixture
def kit(settings):  # type: ignore[no-untyped-def]
    with KitFake() as server:
        settings.PROVIDER_BASE_URLS = {"kit": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server


@pytest.fixture
def integration(db, kit):  # type: ignore[no-untyped-def]
    return IntegrationFactory(provider="kit", credentials=kit.credentials())


def test_validate_reads_the_account_with_the_kit_header(kit, integration):
    check_connected(integration)
    [call] = kit.calls_exact("GET", "/v4/account")
    assert call.headers["x-kit-api-key"] == integration.credentials["api_key"]


def test_base_url_is_kits(settings, integration):
    settings.PROVIDER_BASE_URLS = {}
    client = provider_for(integration).client  # type: ignore[attr-defined]
    assert client.base_url == "https://api.kit.com"


def test_the_rate_limit_is_two_a_second_per_api_key(integration):
    limiter = provider_for(integration).client.limiter  # type: ignore[attr-defined]
    assert isinstance(limiter, RateLimit) and limiter.per_second == 2
    same_key = IntegrationFactory(provider="kit", credentials=integration.credentials)
    assert provider_for(same_key).client.limiter.key == limiter.key  # type: ignore[attr-defined]


def test_a_refused_key_marks_the_integration_error(kit, integration):
    kit.api_key = "another"
    integration_validate(integration=integration)
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert integration.last_error.startswith(
        "Kit refused the credentials (HTTP 401) (API Key not valid)"
    )


def test_lists_are_forms_and_sequences(kit, integration):
    form = kit.add_container("forms", "Newsletter")
    sequence = kit.add_container("sequences", "Win-back")
    found = [(x.id, x.name) for x in provider_for(integration).lists()]
    assert found == [
        (f"form:{form}", "Newsletter"),
        (f"sequence:{sequence}", "Win-back"),
    ]


def test_tags_are_paged_to_the_end(kit, integration):
    for n in range(2300):
        kit.add_tag(f"t{n}")
    assert len(provider_for(integration).tags()) == 2300
    assert [c.query.get("after") for c in kit.calls_exact("GET", "/v4/tags")] == [
        None,
        ["1000"],
        ["2000"],
    ]


def test_add_tag_creates_the_tag_and_an_unsubscribed_carrier_on_first_use(kit, integration):
    provider_for(integration).add_tag(ANA, "churned")
    assert kit.tag_names("ana@example.com") == {"churned"}
    sub = kit.by_email("ana@example.com")
    assert sub["state"] == "inactive" and sub["first_name"] == "Ana"
    tagging = ("POST", f"/v4/tags/{next(iter(kit.tags))}/subscribers")
    assert [(c.method, c.path) for c in kit.calls] == [
        ("GET", "/v4/tags"),
        ("POST", "/v4/tags"),
        tagging,  # 404: Kit tags only subscribers it knows
        ("POST", "/v4/subscribers"),
        tagging,
    ]
    assert kit.calls_exact("POST", "/v4/subscribers")[0].body["state"] == "inactive"


def test_add_tag_costs_one_call_once_the_tag_id_is_known(kit, integration):
    kit.add_subscriber("ana@example.com")
    kit.add_subscriber("bia@example.com")
    provider_for(integration).add_tag(ANA, "vip")
    before = len(kit.calls)
    provider_for(integration).add_tag(Contact(email="bia@example.com"), "vip")
    assert [(c.method, c.path) for c in kit.calls[before:]] == [
        ("POST", f"/v4/tags/{next(iter(kit.tags))}/subscribers")
    ]


def test_add_to_list_creates_a_new_contact_active(kit, integration):
    form = kit.add_container("forms", "Newsletter")
    provider_for(integration).add_to_list(ANA, f"form:{form}")
    assert kit.by_email("ana@example.com")["state"] == "active"


def test_add_to_form_and_sequence(kit, integration):
    form = kit.add_container("forms", "Newsletter")
    sequence = kit.add_container("sequences", "Win-back")
    provider = provider_for(integration)
    provider.add_to_list(ANA, f"form:{form}")
    provider.add_to_list(ANA, f"sequence:{sequence}")
    sub = kit.by_email("ana@example.com")
    assert kit.members == {("forms", form, sub["id"]), ("sequences", sequence, sub["id"])}
    assert kit.calls_exact("POST", f"/v4/forms/{form}/subscribers")[0].body == {
        "email_address": "ana@example.com"
    }


def test_remove_from_list_is_refused_with_what_to_do(kit, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).remove_from_list(ANA, "form:12")
    assert info.value.permanent and "remove a Kit tag" in info.value.message
    assert kit.calls == []


def test_a_malformed_list_is_refused_without_a_call(kit, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(ANA, "12")
    assert info.value.permanent and kit.calls == []


def test_remove_tag(kit, integration):
    tag = kit.add_tag("vip")
    sub = kit.add_subscriber("ana@example.com")
    kit.taggings.add((tag, sub["id"]))
    provider_for(integration).remove_tag(ANA, "VIP")
    assert kit.taggings == set()


def test_a_422_reaches_the_creator_with_kits_message(kit, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_tag(Contact(email="not-an-email"), "vip")
    assert info.value.permanent and "Email address is invalid" in info.value.message


def test_a_429_in_plain_text_is_transient(fake, settings, integration):
    settings.PROVIDER_BASE_URLS = {"kit": fake.url}
    fake.on(
        "GET",
        "/v4/account",
        Answer(status=429, body=b"Retry later", headers={"Content-Type": "text/plain"}),
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).validate()
    error = info.value
    assert error.permanent is False and error.retry_after is None
    assert "rate limiting us (HTTP 429) (Retry later)" in error.message


def test_action_applied_reads_the_subscribers_tags(kit, integration):
    tag = kit.add_tag("vip")
    sub = kit.add_subscriber("ana@example.com")
    provider = provider_for(integration)
    assert provider.action_applied("add_tag", ANA, tag="vip") is False
    kit.taggings.add((tag, sub["id"]))
    assert provider.action_applied("add_tag", ANA, tag="vip") is True
    assert provider.action_applied("remove_tag", Contact(email="x@example.com"), tag="vip") is True


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_error_matrix(fake, settings, caplog, integration, case):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "kit": fake.url}
    key = integration.credentials["api_key"]
    check_error_case(
        case=case,
        fake=fake,
        settings=settings,
        caplog=caplog,
        integration=integration,
        method="GET",
        path="/v4/account",
        error_body={"errors": [f"API Key {key} not valid"]},
    )


# -- consent properties (issue 14) -------------------------------------------------


def test_remove_actions_never_create_a_contact(kit, integration):
    kit.add_tag("vip")
    provider = provider_for(integration)
    provider.remove_tag(ANA, "vip")
    provider.remove_tag(ANA, "never-used")
    with pytest.raises(ProviderError):
        provider.remove_from_list(ANA, "form:1")
    assert kit.subscribers == {}
    assert kit.calls_exact("POST") == []
    assert set(kit.tags.values()) == {"vip"}  # no tag created by a removal either


@pytest.mark.parametrize("state", ["cancelled", "bounced", "complained"])
def test_no_action_resubscribes_an_opted_out_subscriber(kit, integration, state):
    form = kit.add_container("forms", "Newsletter")
    sequence = kit.add_container("sequences", "Win-back")
    sub = kit.add_subscriber("ana@example.com", state=state)
    provider = provider_for(integration)
    provider.add_to_list(ANA, f"form:{form}")
    provider.add_to_list(ANA, f"sequence:{sequence}")
    provider.add_tag(ANA, "vip")
    provider.remove_tag(ANA, "vip")
    assert sub["state"] == state
    assert kit.members == set()
    assert all("state" not in c.body for c in kit.calls_exact("POST", "/v4/subscribers"))


def test_tag_actions_change_no_list_status(kit, integration):
    form = kit.add_container("forms", "Newsletter")
    sub = kit.add_subscriber("ana@example.com", state="inactive")
    kit.members.add(("forms", form, sub["id"]))
    provider = provider_for(integration)
    provider.add_tag(ANA, "vip")
    provider.remove_tag(ANA, "vip")
    assert sub["state"] == "inactive"
    assert kit.members == {("forms", form, sub["id"])}
    assert not [c for c in kit.calls if c.path.startswith(("/v4/forms", "/v4/sequences"))]


@pytest.mark.parametrize("name", ["", "   "])
def test_absent_names_are_absent_in_the_request(kit, integration, name):
    provider_for(integration).add_tag(Contact.from_name(email="x@example.com", name=name), "vip")
    [create] = kit.calls_exact("POST", "/v4/subscribers")
    assert create.body == {"email_address": "x@example.com", "state": "inactive"}


def test_vip_resolves_exactly_among_45_tags_containing_it(kit, integration):
    for n in range(45):
        kit.add_tag(f"vip-{n}" if n % 2 else f"old vip {n}")
    vip = kit.add_tag("VIP")
    sub = kit.add_subscriber("ana@example.com")
    provider_for(integration).add_tag(ANA, "vip")
    assert kit.taggings == {(vip, sub["id"])}
    assert len(kit.tags) == 46  # found, not created again


def test_a_tag_deleted_at_kit_is_looked_up_again(kit, integration):
    sub = kit.add_subscriber("ana@example.com", state="cancelled")
    provider = provider_for(integration)
    provider.add_tag(ANA, "vip")
    kit.tags.clear()  # deleted at Kit; our cached id is stale now
    kit.taggings.clear()
    provider_for(integration).add_tag(ANA, "vip")
    assert kit.tag_names("ana@example.com") == {"vip"}
    assert sub["state"] == "cancelled"  # the upsert on the way changed no state
