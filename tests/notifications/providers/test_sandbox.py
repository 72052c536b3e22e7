from __future__ import annotations

import pytest

from notifications.providers import Contact, ProviderError, provider_class
from notifications.services import integration_create

pytestmark = pytest.mark.django_db

CONTACT = Contact(email="ana@example.com", first_name="Ana")


def test_sandbox_connects_without_credentials_and_offers_lists_and_tags(creator):
    integration = integration_create(creator=creator, provider="sandbox", name="", credentials={})
    assert integration.status == "connected"
    provider = provider_class("sandbox")({})
    assert [item.id for item in provider.lists()] == ["customers", "win-back"]
    assert "churned" in [item.name for item in provider.tags()]


def test_sandbox_accepts_known_lists_and_any_tag_and_refuses_other_lists():
    provider = provider_class("sandbox")({})
    provider.add_to_list(CONTACT, "win-back")
    provider.add_tag(CONTACT, "churned")
    with pytest.raises(ProviderError) as missing_list:
        provider.add_to_list(CONTACT, "deleted-list")
    assert (missing_list.value.permanent, missing_list.value.status) == (True, 404)
    # Like Mailchimp and ActiveCampaign, a tag typed in the builder is created on first use.
    assert provider.creates_tags
    provider.add_tag(CONTACT, "first-purchase")
    provider.remove_tag(CONTACT, "first-purchase")
    with pytest.raises(ProviderError) as blank:
        provider.add_tag(CONTACT, "  ")
    assert blank.value.permanent and blank.value.status == 400


def test_sandbox_refuses_credentials(creator):
    from core.errors import DomainError

    with pytest.raises(DomainError):
        integration_create(
            creator=creator, provider="sandbox", name="", credentials={"api_key": "x"}
        )
