"""MailerLite: the adapter against a fake built from MailerLite's documentation and the
official SDK's recorded answers (tests/notifications/providers/fakes/mailerlite.py)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from notifications.models import Integration
from notifications.providers import Contact, ProviderError, provider_for
from notifications.services import integration_validate
from tests.notifications.factories import IntegrationFactory
from tests.notifications.providers.contract import (
    CASE_IDS,
    CASES,
    check_connected,
    check_error_case,
)
from tests.notifications.providers.fakes.base import Reply
from tests.notifications.providers.fakes.mailerlite import MailerLiteFake

pytestmark = pytest.mark.django_db

ANA = Contact.from_name(email="ana@example.com", name="Ana Souza")


@pytest.fixture
def ml(settings):  # type: ignore[no-untyped-def]
    with MailerLiteFake() as server:
        settings.PROVIDER_BASE_URLS = {"mailerlite": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server


@pytest.fixture
def integration(db, ml):  # type: ignore[no-untyped-def]
    return IntegrationFactory(provider="mailerlite", credentials=ml.credentials())


def test_validate_reads_the_groups_with_the_bearer_key(ml, integration):
    check_connected(integration)
    [call] = ml.calls_exact("GET", "/api/groups")
    assert call.headers["authorization"] == f"Bearer {integration.credentials['api_key']}"


def test_base_url_is_the_new_api(settings, integration):
    settings.PROVIDER_BASE_URLS = {}
    client = provider_for(integration).client  # type: ignore[attr-defined]
    assert client.base_url == "https://connect.mailerlite.com"


def test_a_refused_key_marks_the_integration_error(ml, integration):
    ml.api_key = "another"
    integration_validate(integration=integration)
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert integration.last_error.startswith(
        "MailerLite refused the credentials (HTTP 401) (Unauthenticated.)"
    )


def test_requests_keep_to_two_a_second_per_account_across_threads(ml, integration):
    # 120 a minute per account; the shared Redis counter allows 2 per wall-clock second
    # whichever worker (here: thread, each with its own adapter) sends them.
    def one() -> None:
        provider_for(integration).validate()

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    per_second = Counter(int(c.at) for c in ml.calls_exact("GET", "/api/groups"))
    assert sum(per_second.values()) == 6
    assert max(per_second.values()) <= 2


def test_lists_are_the_groups_paged_to_the_end(ml, integration):
    ids = [ml.add_group(f"Group {n}") for n in range(230)]
    found = provider_for(integration).lists()
    assert [x.id for x in found] == ids
    assert [c.query["page"] for c in ml.calls_exact("GET", "/api/groups")] == [["1"], ["2"], ["3"]]


def test_add_to_list_creates_a_new_subscriber_in_the_group_in_one_call(ml, integration):
    group = ml.add_group("Customers")
    provider_for(integration).add_to_list(ANA, group)
    [get, create] = ml.calls
    assert (get.method, get.path) == ("GET", "/api/subscribers/ana@example.com")
    assert create.body == {
        "email": "ana@example.com",
        "fields": {"name": "Ana", "last_name": "Souza"},
        "groups": [group],
        "status": "active",
    }
    assert ml.by_email("ana@example.com")["groups"] == [group]


def test_add_to_list_assigns_an_existing_subscriber_without_touching_its_status(ml, integration):
    group = ml.add_group("Customers")
    sub = ml.add_subscriber("ana@example.com", status="unsubscribed")
    provider_for(integration).add_to_list(ANA, group)
    assert [(c.method, c.path) for c in ml.calls] == [
        ("GET", "/api/subscribers/ana@example.com"),
        ("POST", f"/api/subscribers/{sub['id']}/groups/{group}"),
    ]
    assert sub["status"] == "unsubscribed" and sub["groups"] == [group]


def test_remove_from_list_unassigns(ml, integration):
    group = ml.add_group("Customers")
    sub = ml.add_subscriber("ana@example.com", groups=(group,))
    provider_for(integration).remove_from_list(ANA, group)
    assert sub["groups"] == []
    assert ml.calls[-1].method == "DELETE"


def test_tags_are_not_offered_and_tag_actions_say_to_use_a_group(ml, integration):
    provider = provider_for(integration)
    assert provider.tags() == []
    for action in (provider.add_tag, provider.remove_tag):
        with pytest.raises(ProviderError) as info:
            action(ANA, "vip")
        assert info.value.permanent and "use a MailerLite group" in info.value.message
    assert ml.calls == []


def test_a_422_reaches_the_creator_with_the_field_message(ml, integration):
    group = ml.add_group("Customers")
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(Contact(email="not-an-email"), group)
    assert info.value.permanent and not info.value.auth
    assert "email: The email must be a valid email address." in info.value.message


def test_429_waits_for_the_documented_header(ml, integration):
    ml.fail_next(
        Reply(429, {"message": "Too Many Attempts."}, {"X-RateLimit-Retry-After": "41"}),
        path_prefix="/api/groups",
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).validate()
    assert info.value.permanent is False and info.value.retry_after == 41.0


def test_a_non_numeric_group_is_refused_without_a_call(ml, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(ANA, "customers")
    assert info.value.permanent and ml.calls == []


def test_action_applied_reads_the_subscribers_groups(ml, integration):
    group, other = ml.add_group("A"), ml.add_group("B")
    ml.add_subscriber("ana@example.com", groups=(group,))
    provider = provider_for(integration)
    assert provider.action_applied("add_to_list", ANA, list_id=group) is True
    assert provider.action_applied("add_to_list", ANA, list_id=other) is False
    assert provider.action_applied("remove_from_list", ANA, list_id=other) is True
    stranger = Contact(email="nobody@example.com")
    assert provider.action_applied("remove_from_list", stranger, list_id=group) is True


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_error_matrix(fake, settings, caplog, integration, case):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "mailerlite": fake.url}
    key = integration.credentials["api_key"]
    check_error_case(
        case=case,
        fake=fake,
        settings=settings,
        caplog=caplog,
        integration=integration,
        method="GET",
        path="/api/groups",
        error_body={"message": f"Unauthenticated {key}."},
    )


# -- consent properties (issue 14) -------------------------------------------------


def test_remove_actions_never_create_a_contact(ml, integration):
    group = ml.add_group("Customers")
    provider = provider_for(integration)
    provider.remove_from_list(ANA, group)
    for action in (provider.remove_tag,):
        with pytest.raises(ProviderError):
            action(ANA, "vip")
    assert ml.subscribers == {}
    assert ml.calls_exact("POST") == []


def test_no_action_resubscribes_an_unsubscribed_contact(ml, integration):
    group = ml.add_group("Customers")
    sub = ml.add_subscriber("ana@example.com", status="unsubscribed")
    provider = provider_for(integration)
    provider.add_to_list(ANA, group)
    provider.remove_from_list(ANA, group)
    provider.add_to_list(ANA, group)
    assert sub["status"] == "unsubscribed"
    assert all("status" not in (c.body or {}) for c in ml.calls_exact("POST") if c.body)


def test_tag_actions_change_no_list_status(ml, integration):
    group = ml.add_group("Customers")
    sub = ml.add_subscriber("ana@example.com", status="active", groups=(group,))
    provider = provider_for(integration)
    for action in (provider.add_tag, provider.remove_tag):
        with pytest.raises(ProviderError):
            action(ANA, "vip")
    assert sub["status"] == "active" and sub["groups"] == [group]
    assert ml.calls == []


@pytest.mark.parametrize("name", ["", "   ", "Cher"])
def test_absent_names_are_absent_in_the_request(ml, integration, name):
    group = ml.add_group("Customers")
    provider_for(integration).add_to_list(
        Contact.from_name(email="x@example.com", name=name), group
    )
    [create] = ml.calls_exact("POST", "/api/subscribers")
    fields = create.body.get("fields", {})
    assert "last_name" not in fields
    assert fields == ({"name": "Cher"} if name == "Cher" else {})
    assert "" not in fields.values()


def test_lookups_are_exact_among_many_similar_names(ml, integration):
    # MailerLite has no tags; its by-name lookup is the group list, paged to the end.
    ids = {ml.add_group(f"vip {n}"): f"vip {n}" for n in range(45)}
    vip = ml.add_group("vip")
    found = {x.name: x.id for x in provider_for(integration).lists()}
    assert found["vip"] == vip and len(found) == len(ids) + 1
