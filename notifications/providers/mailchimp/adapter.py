"""Mailchimp Marketing API v3 adapter.

Documented behaviour this follows (https://mailchimp.com/developer/marketing/api/):
- base `https://{dc}.api.mailchimp.com/3.0`, the data centre is the API key's suffix
  (`…-us21`); HTTP Basic auth with any user name and the key as password;
- audiences are lists; a member's id is the MD5 of the lower-cased email (computed here,
  never looked up, so nothing needs caching); `PUT /lists/{id}/members/{hash}` adds or
  updates, and `status_if_new` applies to a new member only: an existing member keeps
  its status (`subscribed`, `pending` double opt-in, `transactional`, `unsubscribed`);
- tags live inside an audience and are static segments (`GET /lists/{id}/segments
  ?type=static`, paged with count/offset); `POST /lists/{id}/members/{hash}/tags` with
  status `active` creates a new tag on first use, `inactive` removes it; it answers 404
  for an email that is not a member;
- errors are problem+json `{title, status, detail, errors: [{field, message}]}`; the
  limit is 10 simultaneous connections per account (429 past it, no `Retry-After`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
from django.conf import settings

from notifications.providers import register
from notifications.providers.base import (
    PENDING,
    SUBSCRIBED,
    TRANSACTIONAL,
    Contact,
    CredentialsInvalid,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
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
    creates_tags = True
    contact_statuses = (SUBSCRIBED, PENDING, TRANSACTIONAL)
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
        client = self.client
        found: list[TagInfo] = []
        for page in range(MAX_PAGES):
            body = (
                client.request(
                    "GET",
                    f"/3.0/lists/{list_id}/segments",
                    params={
                        "type": "static",
                        "count": PAGE_SIZE,
                        "offset": page * PAGE_SIZE,
                        "fields": "segments.id,segments.name,total_items",
                    },
                )
                or {}
            )
            items = body.get("segments") or []
            found += [TagInfo(id=str(t["id"]), name=str(t.get("name", ""))) for t in items]
            if not items or len(found) >= int(body.get("total_items") or 0):
                break
        return found

    def _merge_fields(self, contact: Contact) -> dict[str, Any]:
        # Only what we know: an absent name is not sent, so Mailchimp keeps its own.
        fields = {"FNAME": contact.first_name, "LNAME": contact.last_name}
        return {key: value for key, value in fields.items() if value}

    def _member_body(self, contact: Contact) -> dict[str, Any]:
        body: dict[str, Any] = {"email_address": contact.email}
        if merge_fields := self._merge_fields(contact):
            body["merge_fields"] = merge_fields
        if contact.locale:
            body["language"] = contact.locale.split("-")[0].lower()
        return body

    def _member_path(self, list_id: str, contact: Contact) -> str:
        return f"/3.0/lists/{list_id}/members/{member_hash(contact.email)}"

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        # One PUT: a new member gets the integration's status; an existing one keeps its
        # own (`status` is never sent), so an unsubscribed member stays unsubscribed.
        path = self._member_path(list_id, contact)
        member = self.client.request(
            "PUT",
            path,
            json_body={**self._member_body(contact), "status_if_new": self.new_contact_status},
        )
        # A transactional member (e.g. added by a tag action) never chose anything about
        # marketing email: joining the list gives them the integration's status.
        current = member.get("status") if isinstance(member, dict) else None
        if current == TRANSACTIONAL and self.new_contact_status != TRANSACTIONAL:
            self.client.request("PATCH", path, json_body={"status": self.new_contact_status})

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        # DELETE archives the member: it leaves the audience but keeps its history. An
        # archived member re-added later takes the status then sent, not the one it had,
        # so a member who unsubscribed (or was cleaned) is left as it is: archiving would
        # erase the only record of their choice. A non-member (404) is left alone too.
        path = self._member_path(list_id, contact)
        try:
            member = self.client.request("GET", path, params={"fields": "status"}) or {}
            if member.get("status") not in ("subscribed", "pending", "transactional"):
                return
            self.client.request("DELETE", path)
        except ProviderError as exc:
            if exc.status != 404:
                raise

    def _tag(self, contact: Contact, tag: str, list_id: str, status: str) -> None:
        self.client.request(
            "POST",
            f"{self._member_path(list_id, contact)}/tags",
            json_body={"tags": [{"name": tag, "status": status}]},
        )

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        list_id = self._need_list(list_id, "tags")
        try:
            self._tag(contact, tag, list_id, "active")  # an existing member: one call
            return
        except ProviderError as exc:
            if exc.status != 404:
                raise
        # Not a member: tags need one, so add the contact to the audience as
        # `transactional` (no marketing email, whatever the integration's status for new
        # contacts: a tag never subscribes anyone), carrying the tag.
        try:
            self.client.request(
                "POST",
                f"/3.0/lists/{list_id}/members",
                json_body={**self._member_body(contact), "status": TRANSACTIONAL, "tags": [tag]},
            )
        except ProviderError as exc:
            # Another delivery added them meanwhile ("Member Exists"): tag them now.
            if exc.status != 400 or "member exists" not in exc.message.lower():
                raise
            self._tag(contact, tag, list_id, "active")

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        list_id = self._need_list(list_id, "tags")
        try:
            self._tag(contact, tag, list_id, "inactive")
        except ProviderError as exc:
            if exc.status != 404:  # not a member: carries no tag, nothing created
                raise

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
