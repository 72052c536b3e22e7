"""Connecting RD Station Marketing from the integration page: the creator's app
credentials, the provider's consent page, and our callback (against the RD fake)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.urls import reverse

from accounts.models import Role
from notifications.models import Integration
from tests.factories import CreatorFactory, MembershipFactory
from tests.notifications.factories import IntegrationFactory
from tests.notifications.providers.fakes.rdstation import RDStationFake

pytestmark = pytest.mark.django_db


@pytest.fixture
def rd(settings):
    with RDStationFake() as server:
        settings.PROVIDER_BASE_URLS = {"rdstation": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        settings.BASE_URL = "https://app.example.com"
        yield server


def _connect(client, rd):
    return client.post(
        reverse("dashboard:integration_connect"),
        {
            "provider": "rdstation",
            "name": "RD",
            "cred_client_id": rd.client_id,
            "cred_client_secret": rd.client_secret,
            "new_contact_status": "subscribed",
        },
    )


def test_the_form_shows_our_callback_url_and_the_app_fields(owner, login, rd):
    html = (
        login(owner)
        .get(reverse("dashboard:integration_connect") + "?provider=rdstation")
        .content.decode()
    )
    assert 'value="https://app.example.com/integrations/oauth/callback/"' in html
    assert 'name="cred_client_id"' in html and 'name="cred_client_secret"' in html
    assert 'type="password" name="cred_client_secret"' in html


def test_connecting_goes_to_the_consent_page_and_back(creator, owner, login, rd):
    client = login(owner)
    response = _connect(client, rd)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{rd.url}/auth/dialog"
    query = parse_qs(target.query)
    assert query["client_id"] == [rd.client_id]
    assert query["redirect_uri"] == ["https://app.example.com/integrations/oauth/callback/"]
    integration = Integration.objects.get(creator=creator)
    assert integration.status == Integration.Status.ERROR  # not authorized yet

    # RD sends the browser back with a code and our state.
    rd.codes.add("code-1")
    back = client.get(
        reverse("dashboard:integration_oauth_callback"),
        {"code": "code-1", "state": query["state"][0]},
    )
    assert back.status_code == 302 and back["Location"] == reverse("dashboard:integrations")
    integration.refresh_from_db()
    assert integration.status == Integration.Status.CONNECTED
    assert integration.credentials["access_token"] in rd.access_tokens
    page = client.get(reverse("dashboard:integrations")).content.decode()
    assert "Connected to RD." in page
    assert integration.credentials["access_token"] not in page
    assert rd.client_secret not in page


def test_a_denied_consent_says_so(creator, owner, login, rd):
    client = login(owner)
    state = parse_qs(urlsplit(_connect(client, rd)["Location"]).query)["state"][0]
    response = client.get(
        reverse("dashboard:integration_oauth_callback"),
        {"error": "access_denied", "state": state},
        follow=True,
    )
    assert "RD was not authorized (access_denied)" in response.content.decode()
    assert rd.calls_exact("POST", "/auth/token") == []


@pytest.mark.parametrize(
    "state",
    [
        pytest.param(lambda: "", id="missing"),
        pytest.param(lambda: "forged", id="forged"),
        pytest.param(lambda: signing.dumps({"i": "x", "u": 1}, salt="other"), id="other-salt"),
    ],
)
def test_a_bad_state_changes_nothing(creator, owner, login, rd, state):
    client = login(owner)
    _connect(client, rd)
    rd.codes.add("code-1")
    response = client.get(
        reverse("dashboard:integration_oauth_callback"),
        {"code": "code-1", "state": state()},
        follow=True,
    )
    assert "not valid or has expired" in response.content.decode()
    assert rd.calls_exact("POST", "/auth/token") == []


def test_a_state_is_good_only_for_the_member_who_started(creator, owner, login, rd):
    client = login(owner)
    state = parse_qs(urlsplit(_connect(client, rd)["Location"]).query)["state"][0]
    colleague = MembershipFactory(creator=creator, role=Role.OWNER).user
    rd.codes.add("code-1")
    response = login(colleague).get(
        reverse("dashboard:integration_oauth_callback"), {"code": "code-1", "state": state}
    )
    assert response.status_code == 302
    assert rd.calls_exact("POST", "/auth/token") == []


def test_another_creators_integration_is_404_even_with_a_signed_state(owner, login, rd):
    other = IntegrationFactory(creator=CreatorFactory(), provider="rdstation")
    state = signing.dumps({"i": str(other.uuid), "u": owner.pk}, salt="dashboard.integration-oauth")
    response = login(owner).get(
        reverse("dashboard:integration_oauth_callback"), {"code": "c", "state": state}
    )
    assert response.status_code == 404
    assert rd.calls == []


def test_authorize_again_from_the_list(creator, owner, viewer, login, rd):
    integration = IntegrationFactory(creator=creator, provider="rdstation")
    html = login(owner).get(reverse("dashboard:integrations")).content.decode()
    url = reverse("dashboard:integration_authorize", kwargs={"uuid": integration.uuid})
    assert f'action="{url}"' in html
    response = login(owner).post(url)
    assert response.status_code == 302 and response["Location"].startswith(f"{rd.url}/auth/dialog?")
    assert login(viewer).post(url).status_code == 403
