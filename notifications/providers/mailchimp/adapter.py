"""Mailchimp Marketing API v3 adapter.

Documented behaviour this follows:
- base `https://{dc}.api.mailchimp.com/3.0`, the data centre is the API key's suffix
  (`…-us21`); HTTP Basic auth with any user name and the key as password;
- audiences are lists; a member's id is the MD5 of the lower-cased email; `PUT
  /lists/{id}/members/{hash}` upserts (`status_if_new`); tags live inside an audience
  (`POST /lists/{id}/members/{hash}/tags`, status `active`/`inactive`);
- errors are problem+json `{title, status, detail}`; the limit is 10 simultaneous
  connections per account (429 past it, with no `Retry-After`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
from django.conf import settings

from notifications.providers import register
from notifications.providers.base import (
    Contact,
    CredentialsInvalid,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
    split_name,
)
from notifications.providers.http import ProviderClient
from notifications.providers.ratelimit import ConcurrencyLimit, account_key

DATA_CENTRE = re.compile(r"[a-z]{2,4}[0-9]{1,3}")
PAGE_SIZE = 1000
MAX_PAGES = 20


def member_hash(email: str) -> str:
    # Mailchimp's documented subscriber id, not a security measure.
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


@register
class MailchimpProvider(EmailMarketingProvider):
    name = "mailchimp"
    label = "Mailchimp"
    credential_fields = ("api_key",)
    tags_need_list = True
    max_connections = 10

    @classmethod
    def clean_credentials(cls, credentials: Any) -> dict[str, str]:
        cleaned = super().clean_credentials(credentials)
        _, _, dc = cleaned["api_key"].rpartition("-")
        if not DATA_CENTRE.fullmatch(dc):
            raise CredentialsInvalid(
                "A Mailchimp API key ends with its data centre, like '…-us21'; "
                "this one does not. Copy the whole key from Mailchimp."
            )
        return cleaned

    @property
    def client(self) -> ProviderClient:
        api_key = str(self.credentials.get("api_key", ""))
        dc = api_key.rpartition("-")[2] or "us1"
        if not DATA_CENTRE.fullmatch(dc):
            dc = "us1"  # a malformed key fails with 401 below; never build a hostile host
        return ProviderClient(
            provider=self.name,
            label=self.label,
            base_url=f"https://{dc}.api.mailchimp.com",
            headers={},
            auth=httpx.BasicAuth("subscriptions", api_key),
            secrets=[api_key],
            limiter=ConcurrencyLimit(
                account_key(self.name, api_key),
                limit=self.max_connections,
                label=self.label,
                ttl=2 * settings.PROVIDER_TIMEOUT_SECONDS + 5,
            ),
        )

    def _need_list(self, list_id: str | None, what: str) -> str:
        if not list_id:
            raise ProviderError(
                f"Mailchimp {what} belong to an audience: choose the audience too.",
                permanent=True,
            )
        return list_id

    def validate(self) -> None:
        self.client.request("GET", "/3.0/ping")

    def lists(self) -> list[ListInfo]:
        client = self.client
        found: list[ListInfo] = []
        for page in range(MAX_PAGES):
            body = client.request(
                "GET",
                "/3.0/lists",
                params={
                    "count": PAGE_SIZE,
                    "offset": page * PAGE_SIZE,
                    "fields": "lists.id,lists.name,total_items",
                },
            )
            items = (body or {}).get("lists") or []
            found += [ListInfo(id=str(i["id"]), name=str(i.get("name", ""))) for i in items]
            if len(found) >= int((body or {}).get("total_items") or 0) or not items:
                break
        return found

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        list_id = self._need_list(list_id, "tags")
        body = self.client.request("GET", f"/3.0/lists/{list_id}/tag-search")
        return [
            TagInfo(id=str(t.get("id", t.get("name"))), name=str(t.get("name", "")))
            for t in (body or {}).get("tags") or []
        ]

    def _member_body(self, contact: Contact) -> dict[str, Any]:
        first, last = split_name(contact.name)
        body: dict[str, Any] = {
            "email_address": contact.email,
            "status_if_new": "subscribed",
            "merge_fields": {"FNAME": first, "LNAME": last, **contact.fields},
        }
        if contact.locale:
            body["language"] = contact.locale.split("-")[0].lower()
        return body

    def upsert_contact(self, contact: Contact, list_id: str | None = None) -> None:
        list_id = self._need_list(list_id, "contacts")
        self.client.request(
            "PUT",
            f"/3.0/lists/{list_id}/members/{member_hash(contact.email)}",
            json_body=self._member_body(contact),
        )

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        self.upsert_contact(contact, list_id)

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        # DELETE archives the member: it leaves the audience but keeps its history.
        self.client.request("DELETE", f"/3.0/lists/{list_id}/members/{member_hash(contact.email)}")

    def _tag(self, contact: Contact, tag: str, list_id: str, status: str) -> None:
        self.client.request(
            "POST",
            f"/3.0/lists/{list_id}/members/{member_hash(contact.email)}/tags",
            json_body={"tags": [{"name": tag, "status": status}]},
        )

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        list_id = self._need_list(list_id, "tags")
        # Tagging needs a member: make sure the contact is in the audience first.
        self.upsert_contact(contact, list_id)
        self._tag(contact, tag, list_id, "active")

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        list_id = self._need_list(list_id, "tags")
        self._tag(contact, tag, list_id, "inactive")

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        if not list_id:
            return None
        try:
            member = self.client.request(
                "GET",
                f"/3.0/lists/{list_id}/members/{member_hash(contact.email)}",
                params={"fields": "status,tags"},
            )
        except ProviderError as exc:
            if exc.status != 404:
                raise
            member = None
        # DELETE archives a member, so an archived member is off the audience.
        member = member if isinstance(member, dict) and member.get("status") != "archived" else None
        if action_type == "add_to_list":
            return member is not None
        if action_type == "remove_from_list":
            return member is None
        names = {
            str(t.get("name", "")).strip().lower()
            for t in (member or {}).get("tags") or []
            if isinstance(t, dict)
        }
        tagged = tag.strip().lower() in names
        return tagged if action_type == "add_tag" else not tagged
