"""The sandbox email-marketing provider: like the sandbox payment gateway, it lets a
creator try segmentation rules end to end without an account anywhere.

It needs no credentials, offers a fixed set of lists and tags, accepts every call for
them (the delivery log shows each one) and answers a permanent "not found" for any
other list, the way a real provider does when a list was deleted. Like Mailchimp and
ActiveCampaign it creates a new tag on first use: any tag a creator types works. Nothing
leaves the server: each call is written to the application log.
"""

from __future__ import annotations

import logging

from notifications.providers import register
from notifications.providers.base import (
    PENDING,
    SUBSCRIBED,
    TRANSACTIONAL,
    Contact,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
)

logger = logging.getLogger(__name__)

LISTS = (ListInfo("customers", "Customers"), ListInfo("win-back", "Win-back"))
TAGS = (TagInfo("churned", "churned"), TagInfo("reactivated", "reactivated"), TagInfo("vip", "vip"))


@register
class SandboxProvider(EmailMarketingProvider):
    name = "sandbox"
    label = "Sandbox"
    credential_fields = ()
    creates_tags = True
    contact_statuses = (SUBSCRIBED, PENDING, TRANSACTIONAL)

    def _record(self, action: str, contact: Contact, target: str = "") -> None:
        logger.info("sandbox provider: %s %s %s", action, target, contact.email)

    def _check_list(self, list_id: str) -> None:
        if list_id not in {item.id for item in LISTS}:
            raise ProviderError(
                f"Sandbox: list {list_id!r} not found (HTTP 404).", permanent=True, status=404
            )

    def _check_tag(self, tag: str) -> None:
        if not tag.strip():
            raise ProviderError(
                "Sandbox: a tag needs a name (HTTP 400).", permanent=True, status=400
            )

    def validate(self) -> None:
        return None

    def lists(self) -> list[ListInfo]:
        return list(LISTS)

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return list(TAGS)

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        self._check_list(list_id)
        self._record("add_to_list", contact, list_id)

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        self._check_list(list_id)
        self._record("remove_from_list", contact, list_id)

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        self._check_tag(tag)
        self._record("add_tag", contact, tag)

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        self._check_tag(tag)
        self._record("remove_tag", contact, tag)
