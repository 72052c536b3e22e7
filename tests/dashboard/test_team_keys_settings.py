from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import ApiKey, Membership, Role, User
from tests.factories import MembershipFactory


def sent_to(address: str):
    """The one message Django's test outbox holds for `address`."""
    from django.core import mail

    found = [m for m in mail.outbox if address in m.to]
    assert len(found) == 1, [m.to for m in mail.outbox]
    return found[0]


pytestmark = pytest.mark.django_db


def test_invite_new_person_creates_user_and_emails_a_set_password_link(
    creator, owner, login, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(owner).post(
            reverse("dashboard:team"), {"email": "New.Person@Example.com", "role": "manager"}
        )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="new.person@example.com")
    assert not user.has_usable_password()
    assert Membership.objects.get(creator=creator, user=user).role == Role.MANAGER
    email = sent_to(user.email)
    assert creator.name in email.subject
    assert email.alternatives[0][0] and "Choose your password" in email.alternatives[0][0]
    link = re.search(r"http://\S+/password-reset/\S+/", email.body).group(0)
    path = link.split("8000", 1)[1]
    # Django's confirm view redirects once to hide the token, then shows the form.
    page = client.get(path, follow=True)
    assert 'id="set-password-form"' in page.content.decode()
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "a-Long-new-pass-42", "new_password2": "a-Long-new-pass-42"},
    )
    user.refresh_from_db()
    assert user.check_password("a-Long-new-pass-42")


def test_invite_existing_member_twice_is_refused(creator, owner, viewer, login):
    response = login(owner).post(
        reverse("dashboard:team"), {"email": viewer.email, "role": "viewer"}
    )
    assert response.status_code == 409
    assert "already on the team" in response.content.decode()


def test_invite_existing_user_of_another_creator_adds_without_new_account(
    creator, owner, outsider, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(owner).post(reverse("dashboard:team"), {"email": outsider.email, "role": "viewer"})
    assert Membership.objects.filter(creator=creator, user=outsider).exists()
    email = sent_to(outsider.email)
    assert "/login/" in email.body and "password-reset" not in email.body


def test_owner_changes_role_and_removes_but_keeps_the_last_owner(creator, owner, viewer, login):
    client = login(owner)
    client.post(reverse("dashboard:team_role", args=[viewer.uuid]), {"role": "manager"})
    assert Membership.objects.get(creator=creator, user=viewer).role == Role.MANAGER
    response = client.post(
        reverse("dashboard:team_role", args=[owner.uuid]), {"role": "viewer"}, follow=True
    )
    assert "A team needs at least one owner." in response.content.decode()
    assert Membership.objects.get(creator=creator, user=owner).role == Role.OWNER
    client.post(reverse("dashboard:team_remove", args=[viewer.uuid]))
    assert not Membership.objects.filter(creator=creator, user=viewer).exists()
    client.post(reverse("dashboard:team_remove", args=[owner.uuid]))
    assert Membership.objects.filter(creator=creator, user=owner).exists()


def test_manager_cannot_manage_the_team(creator, viewer, login):
    manager = MembershipFactory(creator=creator, role=Role.MANAGER).user
    client = login(manager)
    assert (
        client.post(
            reverse("dashboard:team_role", args=[viewer.uuid]), {"role": "owner"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("dashboard:team"), {"email": "x@example.com", "role": "owner"}
        ).status_code
        == 403
    )


def test_team_member_of_another_creator_is_404(creator, owner, outsider, login):
    response = login(owner).post(reverse("dashboard:team_remove", args=[outsider.uuid]))
    assert response.status_code == 404


def test_api_key_is_shown_once(creator, manager, login):
    client = login(manager)
    response = client.post(reverse("dashboard:api_keys"), {"name": "Zapier", "role": "viewer"})
    assert response.status_code == 201
    html = response.content.decode()
    raw = re.search(r'id="new-key-value"[^>]*value="(sk_live_[^"]+)"', html).group(1)
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(creator=creator, name="Zapier")
    assert key.role == Role.VIEWER and key.created_by == manager
    from accounts.services import api_key_authenticate

    assert api_key_authenticate(raw_key=raw).api_key == key
    again = client.get(reverse("dashboard:api_keys")).content.decode()
    assert raw not in again and key.prefix in again


def test_manager_cannot_create_an_owner_key(creator, manager, login):
    response = login(manager).post(reverse("dashboard:api_keys"), {"name": "x", "role": "owner"})
    assert response.status_code == 400
    assert not ApiKey.objects.filter(creator=creator, name="x").exists()


def test_api_key_revoke_and_tenant_wall(creator, manager, outsider, login):
    from tests.api_helpers import member_key

    key = member_key(creator, "manager").api_key
    assert (
        login(outsider).post(reverse("dashboard:api_key_revoke", args=[key.uuid])).status_code
        == 404
    )
    login(manager).post(reverse("dashboard:api_key_revoke", args=[key.uuid]))
    key.refresh_from_db()
    assert key.revoked_at is not None


VALID_SETTINGS = {
    "time_zone": "Europe/Lisbon",
    "locale": "en",
    "currency": "EUR",
    "retry_schedule": "2, 4, 8",
    "gateway": "sandbox",
}


def test_owner_saves_settings(creator, owner, login):
    response = login(owner).post(reverse("dashboard:settings"), VALID_SETTINGS)
    assert response.status_code == 302
    creator.refresh_from_db()
    assert (creator.time_zone, creator.locale, creator.currency) == ("Europe/Lisbon", "en", "EUR")
    assert creator.retry_schedule == [2, 4, 8]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus", "Select a valid choice."),
        ("time_zone", "localtime", "Select a valid choice."),
        ("time_zone", "Factory", "Select a valid choice."),
        ("time_zone", "US/Eastern", "Select a valid choice."),  # a legacy alias
        ("currency", "XYZ1", "Select a valid choice."),
        ("currency", "ZZZ", "Select a valid choice."),
        ("currency", "DEM", "Select a valid choice."),  # withdrawn
        ("currency", "XAU", "Select a valid choice."),  # gold
        ("retry_schedule", "3, 1", "Retry schedule must be increasing"),
        ("retry_schedule", "one, two", "Use whole numbers separated by commas"),
    ],
)
def test_settings_validation(field, value, message, creator, owner, login):
    response = login(owner).post(reverse("dashboard:settings"), VALID_SETTINGS | {field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    creator.refresh_from_db()
    assert creator.time_zone == "America/Sao_Paulo"


def test_a_removed_member_loses_their_session_and_keys_at_once(creator, owner, manager, login):
    from accounts.services import api_key_create

    issued = api_key_create(creator=creator, created_by=manager, name="Manager's key")
    session = login(manager)
    assert session.get(reverse("dashboard:subscriptions")).status_code == 200
    assert session.get("/api/v1/products").status_code == 200

    response = login(owner).post(reverse("dashboard:team_remove", args=[manager.uuid]))
    assert response.status_code == 302

    # The session they already had opens nothing of this creator any more.
    assert session.get(reverse("dashboard:subscriptions")).status_code == 403
    assert session.get("/api/v1/products").status_code == 403
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is not None
    keys_page = login(owner).get(reverse("dashboard:api_keys")).content.decode()
    row = re.search(rf'id="key-{issued.api_key.uuid}".*?</tr>', keys_page, re.S).group(0)
    assert "Revoked" in row


def test_a_manager_cannot_revoke_an_owners_key(creator, owner, manager, login):
    from accounts.services import api_key_create

    held_by_owner = api_key_create(creator=creator, created_by=owner, role=Role.MANAGER).api_key
    owner_role = api_key_create(creator=creator, created_by=owner, role=Role.OWNER).api_key
    client = login(manager)
    page = client.get(reverse("dashboard:api_keys")).content.decode()
    for key in (held_by_owner, owner_role):
        assert reverse("dashboard:api_key_revoke", args=[key.uuid]) not in page
        response = client.post(reverse("dashboard:api_key_revoke", args=[key.uuid]))
        assert response.status_code == 403
        key.refresh_from_db()
        assert key.revoked_at is None
    # The owner can.
    login(owner).post(reverse("dashboard:api_key_revoke", args=[owner_role.uuid]))
    owner_role.refresh_from_db()
    assert owner_role.revoked_at is not None


def test_nobody_holds_a_key_above_their_role_or_of_a_creator_they_are_not_in(
    creator, manager, outsider
):
    from accounts.services import api_key_create
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        api_key_create(creator=creator, created_by=manager, role=Role.OWNER)
    with pytest.raises(PermissionDenied):
        api_key_create(creator=creator, created_by=outsider, role=Role.VIEWER)
    assert not ApiKey.objects.filter(creator=creator).exists()


def test_the_team_and_keys_pages_say_what_happens_to_keys(creator, owner, login):
    client = login(owner)
    for page in ("dashboard:team", "dashboard:api_keys"):
        html = client.get(reverse(page)).content.decode()
        assert "API keys belong to the member who created them" in html, page


def test_a_pending_invitation_can_be_sent_again(
    creator, owner, login, client, django_capture_on_commit_callbacks
):
    from django.core import mail

    team = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        team.post(reverse("dashboard:team"), {"email": "late@example.com", "role": "viewer"})
    with django_capture_on_commit_callbacks(execute=True):
        again = team.post(
            reverse("dashboard:team"), {"email": "late@example.com", "role": "manager"}
        )
    assert again.status_code == 302
    sent = [m for m in mail.outbox if "late@example.com" in m.to]
    assert len(sent) == 2
    user = User.objects.get(email="late@example.com")
    assert Membership.objects.get(creator=creator, user=user).role == Role.MANAGER
    path = re.search(r"http://\S+?(/password-reset/\S+/)", sent[-1].body).group(1)
    page = client.get(path, follow=True)
    assert 'id="set-password-form"' in page.content.decode()


def test_an_invited_user_of_another_creator_without_a_password_gets_a_set_password_link(
    creator, owner, login, django_capture_on_commit_callbacks
):
    from tests.factories import CreatorFactory, UserFactory

    pending = MembershipFactory(creator=CreatorFactory(), user=UserFactory(password=None)).user
    with django_capture_on_commit_callbacks(execute=True):
        login(owner).post(reverse("dashboard:team"), {"email": pending.email, "role": "viewer"})
    assert "/password-reset/" in sent_to(pending.email).body


def _options(html: str, select_id: str) -> list[tuple[str, list[str]]]:
    """(group label, [option values]) of a <select>, in page order."""
    import re

    select = html[html.index(f'id="{select_id}"') :]
    select = select[: select.index("</select>")]
    groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    return [(label, re.findall(r'value="([^"]*)"', body)) for label, body in groups]


def test_time_zones_are_current_grouped_by_region_with_likely_ones_first(creator, owner, login):
    html = login(owner).get(reverse("dashboard:settings")).content.decode()
    groups = _options(html, "id_time_zone")
    labels = [label for label, _ in groups]
    assert labels[0] == "Suggested"
    assert {"Americas", "Europe", "Asia", "Africa", "Pacific"} <= set(labels)
    suggested = groups[0][1]
    assert suggested[0] == "America/Sao_Paulo"  # the saved zone, then Brazil's others
    assert {"America/Manaus", "America/Recife", "America/Noronha"} <= set(suggested)
    everything = [zone for _, zones in groups for zone in zones]
    for gone in ("localtime", "Factory", "posixrules", "US/Eastern", "Brazil/East", "GB"):
        assert gone not in everything
    assert not [z for z in everything if z.startswith("Etc/")]
    assert 350 < len(set(everything)) < 450  # not the ~600 names zoneinfo knows
    assert "Sao Paulo (Brazil)" in html
    pt = login(owner).get(reverse("dashboard:settings"), HTTP_ACCEPT_LANGUAGE="pt-BR")
    html_pt = pt.content.decode()
    assert "Sao Paulo (Brasil)" in html_pt and 'label="Sugeridos"' in html_pt


def test_currencies_are_the_active_iso_4217_set_the_api_accepts(creator, owner, login):
    from accounts.currencies import active_currencies

    html = login(owner).get(reverse("dashboard:settings")).content.decode()
    groups = _options(html, "id_currency")
    # The saved currency (BRL), then those the creator's language suggests.
    expected = {"en": ["BRL", "USD", "EUR", "GBP"], "pt-BR": ["BRL", "USD", "EUR"]}
    assert groups[0] == ("Suggested", expected[creator.locale])
    offered = {code for _, codes in groups for code in codes}
    assert offered == set(active_currencies())
    assert not {"DEM", "XAU", "ZZZ", "VEF", "BYR"} & offered
    assert 140 < len(offered) < 170  # not the ~300 codes babel knows
    assert "BRL — Brazilian Real" in html
