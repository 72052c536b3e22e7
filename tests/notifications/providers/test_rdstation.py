"""RD Station Marketing: the adapter against a fake built from RD's API reference
(tests/notifications/providers/fakes/rdstation.py), tokens and consent included. RD
publishes no official Python SDK, so the fake cites the doc pages it follows."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from notifications.models import Integration
from notifications.providers import (
    Contact,
    CredentialsInvalid,
    ProviderError,
    provider_class,
    provider_for,
)
from notifications.services import integration_oauth_complete, integration_validate
from tests.notifications.factories import IntegrationFactory
from tests.notifications.providers.contract import CASE_IDS, CASES, check_error_case
from tests.notifications.providers.fakes.base import Reply
from tests.notifications.providers.fakes.rdstation import RDStationFake

pytestmark = pytest.mark.django_db

ANA = Contact.from_name(email="ana@example.com", name="Ana Souza")
CALLBACK = "https://app.example.com/integrations/oauth/callback/"


@pytest.fixture
def rd(settings):  # type: ignore[no-untyped-def]
    with RDStationFake() as server:
        settings.PROVIDER_BASE_URLS = {"rdstation": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server


@pytest.fixture
def integration(rd):  # type: ignore[no-untyped-def]
    """An integration the authorization flow has connected."""
    tokens = rd.issue()
    return IntegrationFactory(
        provider="rdstation",
        credentials={
            "client_id": rd.client_id,
            "client_secret": rd.client_secret,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_at": str(int(time.time() + 86400)),
        },
    )


def test_credentials_are_the_apps_id_and_secret_and_optionally_a_refresh_token():
    cls = provider_class("rdstation")
    assert cls.clean_credentials({"client_id": " a ", "client_secret": "b"}) == {
        "client_id": "a",
        "client_secret": "b",
    }
    assert (
        cls.clean_credentials({"client_id": "a", "client_secret": "b", "refresh_token": "r"})[
            "refresh_token"
        ]
        == "r"
    )
    for bad in ({"client_id": "a"}, {"client_id": "a", "client_secret": "b", "refresh_token": ""}):
        with pytest.raises(CredentialsInvalid):
            cls.clean_credentials(bad)


def test_the_authorization_page_carries_our_callback_and_state(rd, settings):
    integration = IntegrationFactory(
        provider="rdstation", credentials={"client_id": "app-id", "client_secret": "s"}
    )
    url = provider_for(integration).authorize_url(redirect_uri=CALLBACK, state="st")  # type: ignore[attr-defined]
    assert url == (
        f"{rd.url}/auth/dialog?client_id=app-id&redirect_uri="
        "https%3A%2F%2Fapp.example.com%2Fintegrations%2Foauth%2Fcallback%2F&state=st"
    )
    settings.PROVIDER_BASE_URLS = {}
    url = provider_for(integration).authorize_url(redirect_uri=CALLBACK, state="st")  # type: ignore[attr-defined]
    assert url.startswith("https://api.rd.services/auth/dialog?")


def test_an_unauthorized_integration_says_what_to_do(rd):
    integration = IntegrationFactory(
        provider="rdstation", credentials={"client_id": rd.client_id, "client_secret": "s"}
    )
    integration_validate(integration=integration)
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert "not authorized yet" in integration.last_error
    assert rd.calls == []


def test_the_code_becomes_encrypted_tokens_and_the_integration_connects(rd):
    integration = IntegrationFactory(
        provider="rdstation",
        credentials={"client_id": rd.client_id, "client_secret": rd.client_secret},
    )
    rd.codes.add("the-code")
    integration = integration_oauth_complete(
        integration=integration, code="the-code", redirect_uri=CALLBACK
    )
    assert integration.status == Integration.Status.CONNECTED
    stored = Integration.objects.get(pk=integration.pk)
    assert stored.credentials["access_token"] in rd.access_tokens
    assert stored.credentials["refresh_token"] == rd.refresh_token
    [exchange] = rd.calls_exact("POST", "/auth/token")
    assert exchange.body == {
        "client_id": rd.client_id,
        "client_secret": rd.client_secret,
        "code": "the-code",
    }
    # Encrypted at rest: the raw column holds no token.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials::text FROM notifications_integration WHERE id = %s", [stored.pk]
        )
        raw = cursor.fetchone()[0]
    assert stored.credentials["refresh_token"] not in raw


def test_a_refused_code_leaves_the_integration_in_error(rd):
    integration = IntegrationFactory(
        provider="rdstation",
        credentials={"client_id": rd.client_id, "client_secret": rd.client_secret},
    )
    integration = integration_oauth_complete(
        integration=integration, code="used", redirect_uri=CALLBACK
    )
    assert integration.status == Integration.Status.ERROR
    assert "The code is invalid or was used." in integration.last_error


def test_an_expired_token_is_renewed_before_the_call_and_stored(rd, integration):
    rd.access_tokens.clear()
    old_refresh = integration.credentials["refresh_token"]
    Integration.objects.filter(pk=integration.pk).update(
        credentials={**integration.credentials, "expires_at": "1"}
    )
    integration.refresh_from_db()
    provider_for(integration).validate()
    stored = Integration.objects.get(pk=integration.pk).credentials
    assert stored["refresh_token"] == rd.refresh_token != old_refresh
    assert [c.path for c in rd.calls] == ["/auth/token", "/marketing/account_info"]


def test_a_401_renews_once_and_retries(rd, integration):
    rd.access_tokens.clear()  # revoked before its expiry
    provider_for(integration).validate()
    assert [c.path for c in rd.calls] == [
        "/marketing/account_info",
        "/auth/token",
        "/marketing/account_info",
    ]
    assert rd.renewals == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_renew_the_rolling_token_once(rd, integration):
    rd.access_tokens.clear()
    errors: list[Exception] = []

    def work() -> None:
        try:
            provider_for(Integration.objects.get(pk=integration.pk)).validate()
        except Exception as exc:
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert rd.renewals == 1


def test_a_failed_renewal_marks_the_integration_error(rd, integration):
    rd.access_tokens.clear()
    rd.refresh_token = "revoked"
    integration_validate(integration=integration)
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert "refused the credentials (HTTP 401)" in integration.last_error
    assert "Authorize again from the integration page" in integration.last_error
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_tag(ANA, "vip")
    assert info.value.auth and info.value.permanent


def test_lists_are_conversion_events_offered_without_a_call(rd, integration):
    found = provider_for(integration).lists()
    assert ("subscription-cancelled", "Conversion: subscription-cancelled") in [
        (x.id, x.name) for x in found
    ]
    assert rd.calls == []


def test_add_to_list_records_the_conversion_with_consent_for_a_new_contact(rd, integration):
    provider_for(integration).add_to_list(ANA, "subscription-cancelled")
    [event] = rd.calls_exact("POST", "/platform/events")
    assert event.query == {"event_type": ["conversion"]}
    assert event.body == {
        "event_type": "CONVERSION",
        "event_family": "CDP",
        "payload": {
            "conversion_identifier": "subscription-cancelled",
            "email": "ana@example.com",
            "name": "Ana Souza",
            "legal_bases": [{"category": "communications", "type": "consent", "status": "granted"}],
        },
    }
    assert rd.conversions == [{"email": "ana@example.com", "identifier": "subscription-cancelled"}]
    assert rd.consent("ana@example.com") == "granted"


def test_add_tag_tags_an_existing_contact_and_creates_a_missing_one_tagged(rd, integration):
    rd.add_contact("ana@example.com", tags=("old",))
    provider = provider_for(integration)
    provider.add_tag(ANA, "VIP")
    assert rd.people["ana@example.com"]["tags"] == ["old", "vip"]
    provider.add_tag(Contact(email="bia@example.com"), "vip")
    assert rd.people["bia@example.com"]["tags"] == ["vip"]
    # Created only to carry the tag: no consent given on the creator's behalf.
    assert rd.calls_exact("POST", "/platform/contacts")[0].body == {
        "email": "bia@example.com",
        "tags": ["vip"],
    }
    assert rd.consent("bia@example.com") is None


def test_remove_tag_keeps_the_other_tags(rd, integration):
    rd.add_contact("ana@example.com", tags=("vip", "old"))
    provider_for(integration).remove_tag(ANA, "vip")
    assert rd.people["ana@example.com"]["tags"] == ["old"]
    [patch] = rd.calls_exact("PATCH")
    assert patch.body == {"tags": ["old"]}


def test_remove_from_list_is_refused_with_what_to_do(rd, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).remove_from_list(ANA, "subscription-active")
    assert info.value.permanent and "remove an RD Station tag" in info.value.message
    assert rd.calls == []


def test_a_400_reaches_the_creator_with_rds_message(rd, integration):
    with pytest.raises(ProviderError) as info:
        provider_for(integration).add_to_list(Contact(email="nope"), "subscription-active")
    assert info.value.permanent and not info.value.auth
    assert "email is invalid" in info.value.message


def test_429_is_transient_with_retry_after(rd, integration):
    rd.fail_next(
        Reply(429, {"errors": {"error_type": "TOO_MANY_REQUESTS"}}, {"Retry-After": "60"}),
        path_prefix="/marketing/account_info",
    )
    with pytest.raises(ProviderError) as info:
        provider_for(integration).validate()
    assert info.value.permanent is False and info.value.retry_after == 60.0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_error_matrix(fake, settings, caplog, case):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "rdstation": fake.url}
    # No refresh token: a 401 is final here (renewal has its own tests above).
    integration = IntegrationFactory(
        provider="rdstation",
        credentials={
            "client_id": f"app-{uuid.uuid4().hex[:12]}",  # its own rate-limit budget
            "client_secret": "app-secret-value",
            "access_token": "access-token-value",
            "expires_at": str(int(time.time() + 86400)),
        },
    )
    check_error_case(
        case=case,
        fake=fake,
        settings=settings,
        caplog=caplog,
        integration=integration,
        method="GET",
        path="/marketing/account_info",
        error_body={
            "errors": {
                "error_type": "UNAUTHORIZED",
                "error_message": "Invalid token access-token-value.",
            }
        },
    )


# -- consent properties (issue 14) -------------------------------------------------


def test_remove_actions_never_create_a_contact(rd, integration):
    provider = provider_for(integration)
    provider.remove_tag(ANA, "vip")
    with pytest.raises(ProviderError):
        provider.remove_from_list(ANA, "subscription-active")
    assert rd.people == {}
    assert [c.method for c in rd.calls] == ["GET"]


def test_no_action_resubscribes_a_contact_who_declined(rd, integration):
    rd.add_contact("ana@example.com", consent="declined", tags=("vip",))
    provider = provider_for(integration)
    provider.add_to_list(ANA, "subscription-reactivated")
    provider.add_tag(ANA, "churned")
    provider.remove_tag(ANA, "vip")
    assert rd.consent("ana@example.com") == "declined"
    assert not [c for c in rd.calls if c.body and "legal_bases" in str(c.body)]


def test_tag_actions_change_no_list_status(rd, integration):
    rd.add_contact("ana@example.com", consent="granted")
    provider = provider_for(integration)
    provider.add_tag(ANA, "vip")
    provider.remove_tag(ANA, "vip")
    assert rd.consent("ana@example.com") == "granted"
    assert rd.conversions == []
    assert rd.calls_exact("POST", "/platform/events") == []


@pytest.mark.parametrize("name", ["", "   "])
def test_absent_names_are_absent_in_the_request(rd, integration, name):
    provider = provider_for(integration)
    provider.add_to_list(Contact.from_name(email="x@example.com", name=name), "subscription-active")
    provider.add_tag(Contact.from_name(email="y@example.com", name=name), "vip")
    assert "name" not in rd.calls_exact("POST", "/platform/events")[0].body["payload"]
    assert "name" not in rd.calls_exact("POST", "/platform/contacts")[0].body


def test_vip_resolves_exactly_among_45_tags_containing_it(rd, integration):
    similar = tuple(f"vip-{n}" if n % 2 else f"old vip {n}" for n in range(45))
    rd.add_contact("ana@example.com", tags=(*similar, "vip"))
    provider = provider_for(integration)
    assert provider.action_applied("add_tag", ANA, tag="VIP") is True
    provider.remove_tag(ANA, "vip")
    assert rd.people["ana@example.com"]["tags"] == list(similar)
    provider.add_tag(ANA, "vip")
    assert rd.people["ana@example.com"]["tags"] == [*similar, "vip"]


def test_consent_is_sent_for_a_contact_that_has_none_and_never_when_unknown(rd, integration):
    provider = provider_for(integration)
    rd.add_contact("carrier@example.com", consent=None, tags=("vip",))  # no legal basis yet
    provider.add_to_list(Contact(email="carrier@example.com"), "subscription-active")
    assert rd.consent("carrier@example.com") == "granted"

    # An answer without `legal_bases` says nothing about consent: none is sent.
    person = rd.add_contact("quiet@example.com", consent=None)
    del person["legal_bases"]
    provider.add_to_list(Contact(email="quiet@example.com"), "subscription-active")
    assert "legal_bases" not in rd.calls_exact("POST", "/platform/events")[-1].body["payload"]
