"""MailerLite adapter (the new API, `https://connect.mailerlite.com/api`).

Documented behaviour this follows (developers.mailerlite.com, and the official Python
SDK `mailerlite`, whose requests the conformance test compares with ours):
- the API key goes in `Authorization: Bearer …`; JSON in and out;
- groups are MailerLite's lists: `GET /api/groups?limit=&page=` pages through them
  (`meta.last_page`); `POST /api/subscribers/{id}/groups/{group_id}` assigns an existing
  subscriber, `DELETE` the same path unassigns (204);
- `GET /api/subscribers/{id or email}` reads a subscriber (404 when unknown);
  `POST /api/subscribers` creates or updates one by email, non-destructively (groups
  and fields not sent are kept); `status` sets the subscription status, so it is sent
  only for a contact that does not exist yet;
- errors are `{"message", "errors": {field: [text]}}`; 120 requests per minute per
  account, a 429 carries `X-RateLimit-Retry-After` (seconds).

MailerLite has no contact tags (groups play that part): `tags()` offers none and the
tag actions fail with a permanent error that says to use a group.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from notifications.providers import register
from notifications.providers.base import (
    PENDING,
    SUBSCRIBED,
    Contact,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
)
from notifications.providers.http import ProviderClient, parse_retry_after
from notifications.providers.ratelimit import RateLimit, account_key

PAGE_SIZE = 100
MAX_PAGES = 50
# 120 requests per minute per account: at most 2 a second keeps under it in any minute.
REQUESTS_PER_SECOND = 2
# The status a new subscriber gets, from the integration's choice for new contacts.
NEW_CONTACT_STATUS = {SUBSCRIBED: "active", PENDING: "unconfirmed"}


class MailerLiteClient(ProviderClient):
    def fallback_retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(response.headers.get("X-RateLimit-Retry-After"))

    def provider_detail(self, response: httpx.Response) -> tuple[str, str, tuple[str, ...]]:
        # {"message": "The given data was invalid.", "errors": {"email": ["…"]}}
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "", "", ()
        if not isinstance(body, dict):
            return "", "", ()
        details: list[str] = []
        errors = body.get("errors")
        if isinstance(errors, dict):
            for field, texts in errors.items():
                if isinstance(texts, list) and texts:
                    details.append(f"{field}: {texts[0]}")
        return str(body.get("message") or ""), "", tuple(details[:10])


@register
class MailerLiteProvider(EmailMarketingProvider):
    name = "mailerlite"
    label = "MailerLite"
    credential_fields = ("api_key",)
    supports_tags = False
    # "pending": MailerLite's `unconfirmed`; the confirmation email follows the
    # account's double opt-in setting for API subscribers.
    contact_statuses = (SUBSCRIBED, PENDING)

    @property
    def client(self) -> ProviderClient:
        api_key = str(self.credentials.get("api_key", ""))
        return MailerLiteClient(
            provider=self.name,
            label=self.label,
            base_url="https://connect.mailerlite.com",
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            secrets=[api_key],
            limiter=RateLimit(
                account_key(self.name, api_key),
                per_second=REQUESTS_PER_SECOND,
                label=self.label,
            ),
        )

    def validate(self) -> None:
        self.client.request("GET", "/api/groups", params={"limit": 1, "page": 1})

    def lists(self) -> list[ListInfo]:
        client = self.client
        found: list[ListInfo] = []
        for page in range(1, MAX_PAGES + 1):
            body = (
                client.request("GET", "/api/groups", params={"limit": PAGE_SIZE, "page": page})
                or {}
            )
            items = body.get("data") or []
            found += [ListInfo(id=str(g["id"]), name=str(g.get("name", ""))) for g in items]
            last_page = int((body.get("meta") or {}).get("last_page") or page)
            if not items or page >= last_page:
                break
        return found

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return []

    def _subscriber(self, client: ProviderClient, email: str) -> dict[str, Any] | None:
        try:
            body = client.request("GET", f"/api/subscribers/{quote(email, safe='@')}")
        except ProviderError as exc:
            if exc.status == 404:
                return None
            raise
        data = (body or {}).get("data")
        if not isinstance(data, dict):
            return None
        self.ids.set("subscriber", email, str(data["id"]))
        return data

    def _fields(self, contact: Contact) -> dict[str, str]:
        # Only what we know: an absent name is not sent, so MailerLite keeps its own.
        known = {"name": contact.first_name, "last_name": contact.last_name}
        return {key: value for key, value in known.items() if value}

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        group = _group(list_id)
        client = self.client
        # An existing subscriber is assigned by id (cached per integration): one call.
        if cached := self.ids.get("subscriber", contact.email):
            try:
                client.request("POST", f"/api/subscribers/{cached}/groups/{group}")
                return
            except ProviderError as exc:
                if exc.status != 404:
                    raise
                self.ids.forget("subscriber", contact.email)  # deleted meanwhile
        existing = self._subscriber(client, contact.email)
        if existing is None:
            # One call creates the subscriber already in the group, with the status
            # the creator chose for new contacts.
            body: dict[str, Any] = {"email": contact.email, "groups": [group]}
            if fields := self._fields(contact):
                body["fields"] = fields
            body["status"] = NEW_CONTACT_STATUS[self.new_contact_status]
            answer = client.request("POST", "/api/subscribers", json_body=body) or {}
            if isinstance(answer.get("data"), dict):
                self.ids.set("subscriber", contact.email, str(answer["data"]["id"]))
            return
        # Assigning a group leaves the subscriber's status as it is (an unsubscribed
        # subscriber stays unsubscribed).
        client.request("POST", f"/api/subscribers/{existing['id']}/groups/{group}")

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        group = _group(list_id)
        client = self.client
        sub_id = self.ids.get("subscriber", contact.email)
        if sub_id is None:
            existing = self._subscriber(client, contact.email)
            if existing is None:
                return  # nobody to remove; never create one
            sub_id = str(existing["id"])
        try:
            client.request("DELETE", f"/api/subscribers/{sub_id}/groups/{group}")
        except ProviderError as exc:
            if exc.status != 404:  # 404: not in the group, or gone: nothing to remove
                raise
            self.ids.forget("subscriber", contact.email)

    def _no_tags(self) -> ProviderError:
        return ProviderError(
            "MailerLite has no contact tags; use a MailerLite group in this action instead.",
            permanent=True,
        )

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        raise self._no_tags()

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        raise self._no_tags()

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        if action_type not in ("add_to_list", "remove_from_list") or not list_id:
            return None
        existing = self._subscriber(self.client, contact.email)
        present = existing is not None and bool(_in_group(existing, _group(list_id)))
        return present if action_type == "add_to_list" else not present


def _in_group(subscriber: dict[str, Any], group: str) -> bool | None:
    """Whether the subscriber's `groups` include `group`; None when the answer has none."""
    groups = subscriber.get("groups")
    if not isinstance(groups, list):
        return None
    return any(isinstance(g, dict) and str(g.get("id")) == group for g in groups)


def _group(list_id: str) -> str:
    group = str(list_id).strip()
    if not group.isdigit():
        raise ProviderError(
            f"MailerLite group ids are numbers; {group[:40]!r} is not one.", permanent=True
        )
    return group
