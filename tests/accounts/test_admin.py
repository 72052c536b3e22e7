from __future__ import annotations

import pytest
from django.urls import reverse

from tests.api_helpers import member_key
from tests.factories import CreatorFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["user", "creator", "membership", "apikey"])
def test_changelist_and_change_pages_load(support, model):
    membership = MembershipFactory()
    key = member_key(membership.creator).api_key
    obj = {
        "user": membership.user,
        "creator": membership.creator,
        "membership": membership,
        "apikey": key,
    }[model]
    assert support.get(reverse(f"admin:accounts_{model}_changelist")).status_code == 200
    assert support.get(reverse(f"admin:accounts_{model}_change", args=[obj.pk])).status_code == 200


def test_gateway_credentials_are_never_shown(support):
    creator = CreatorFactory(gateway="stripe", gateway_credentials={"secret_key": "sk_test_SECRET"})
    page = support.get(reverse("admin:accounts_creator_change", args=[creator.pk]))
    assert page.status_code == 200
    assert b"sk_test_SECRET" not in page.content
    assert b"gateway_credentials" not in page.content


def test_api_key_page_shows_prefix_not_hash_and_revokes(support):
    issued = member_key(CreatorFactory())
    page = support.get(reverse("admin:accounts_apikey_change", args=[issued.api_key.pk]))
    assert issued.api_key.key_hash.encode() not in page.content
    assert issued.raw_key.encode() not in page.content
    support.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke_api_keys", "_selected_action": [issued.api_key.pk]},
    )
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is not None
