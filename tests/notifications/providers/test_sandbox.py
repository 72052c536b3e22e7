from __future__ import annotations

import pytest

from notifications.providers import Contact, ProviderError, provider_class
from notifications.services import integration_create

pytestmark = pytest.mark.django_db

CONTACT = Contact(email="ana@example.com", name="Ana")


def test_sandbox_connects_without_credentials_and_offers_lists_and_tags(creator):
    integration = integration_create(creator=creator, provider="sandbox", name="", credentials={})
    assert integration.status == "connected"
    provider = provider_class("sandbox")({})
    assert [item.id for item in provider.lists()] == ["customers", "win-back"]
    assert "churned" in [item.name for item in provider.tags()]


def test_sandbox_accepts_known_lists_and_tags_and_refuses_others_like_a_provider():
    provider = provider_class("sandbox")({})
    provider.add_to_list(CONTACT, "win-back")
    provider.add_tag(CONTACT, "churned")
    with pytest.raises(ProviderError) as missing_list:
        provider.add_to_list(CONTACT, "deleted-list")
    assert (missing_list.value.permanent, missing_list.value.status) == (True, 404)
    with pytest.raises(ProviderError) as missing_tag:
        provider.remove_tag(CONTACT, "nope")
    assert missing_tag.value.permanent and "nope" in missing_tag.value.message


def test_sandbox_refuses_credentials(creator):
    from core.errors import DomainError

    with pytest.raises(DomainError):
        integration_create(
            creator=creator, provider="sandbox", name="", credentials={"api_key": "x"}
        )
