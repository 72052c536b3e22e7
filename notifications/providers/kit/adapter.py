"""Kit (formerly ConvertKit) API v4 adapter, `https://api.kit.com/v4`.

Documented behaviour this follows (developers.kit.com/api-reference):
- the API key goes in the `X-Kit-Api-Key` header; `GET /v4/account` checks it;
- `POST /v4/subscribers` is an upsert by `email_address`: it creates a subscriber with
  the given `first_name` and `state`, and for an existing one updates only the first
  name ("updating the subscriber state with this endpoint is not supported");
  `GET /v4/subscribers?email_address=…&status=all` finds one in any state;
- tags are account-wide: `GET /v4/tags` pages with a cursor (`after`, `per_page` up to
  1000, `pagination.has_next_page` / `end_cursor`), `POST /v4/tags` creates one (200
  when it exists), `POST /v4/tags/{id}/subscribers` tags an existing subscriber by
  email, `DELETE /v4/tags/{id}/subscribers` removes the tag by email;
- Kit has no lists. Forms and sequences are how a subscriber joins something:
  `POST /v4/forms/{id}/subscribers` and `POST /v4/sequences/{id}/subscribers` add an
  existing subscriber by email; the API has no call that takes one out again;
- errors are `{"errors": ["…"]}`; an API key may send 120 requests per 60 s; past it
  Kit answers 429 with the plain text "Retry later" and no `Retry-After`.

Our mapping: lists are the account's forms and sequences (ids `form:ID` /
`sequence:ID`); `remove_from_list` is refused with a permanent error that says to use a
tag. A subscriber whose state is cancelled, bounced or complained is never added to a
form or sequence (that would subscribe them again). Joining a form or sequence is a
subscription in Kit, so the only status for new contacts is subscribed: `add_to_list`
creates an unknown contact `active`; `add_tag` creates one (Kit tags only
subscribers) `inactive`, never subscribed. Tag ids are cached per integration
(`self.ids`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from notifications.providers import register
from notifications.providers.base import (
    SUBSCRIBED,
    Contact,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
)
from notifications.providers.http import ProviderClient
from notifications.providers.ratelimit import RateLimit, account_key

PAGE_SIZE = 1000  # Kit's largest page
MAX_PAGES = 50
# 120 requests per 60 s per API key: at most 2 a second keeps under it in any minute.
REQUESTS_PER_SECOND = 2
# States in which Kit sends a subscriber nothing; no action of ours changes them.
OPTED_OUT = frozenset({"cancelled", "bounced", "complained"})
KINDS = {"form": "forms", "sequence": "sequences"}


class KitClient(ProviderClient):
    def provider_detail(self, response: httpx.Response) -> tuple[str, str, tuple[str, ...]]:
        # {"errors": ["Email address is invalid"]}; the 429 body is plain text.
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            text = response.text.strip()[:100] if response.status_code == 429 else ""
            return text, "", ()
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list):
            return "; ".join(str(e) for e in errors if isinstance(e, str | int)), "", ()
        return super().provider_detail(response)


@register
class KitProvider(EmailMarketingProvider):
    name = "kit"
    label = "Kit"
    credential_fields = ("api_key",)
    creates_tags = True
    contact_statuses = (SUBSCRIBED,)

    @property
    def client(self) -> ProviderClient:
        api_key = str(self.credentials.get("api_key", ""))
        return KitClient(
            provider=self.name,
            label=self.label,
            base_url="https://api.kit.com",
            headers={"X-Kit-Api-Key": api_key},
            secrets=[api_key],
            limiter=RateLimit(
                account_key(self.name, api_key),
                per_second=REQUESTS_PER_SECOND,
                label=self.label,
            ),
        )

    def validate(self) -> None:
        self.client.request("GET", "/v4/account")

    def _pages(self, client: ProviderClient, path: str, key: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"per_page": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            body = client.request("GET", path, params=params) or {}
            found += [i for i in body.get(key) or [] if isinstance(i, dict)]
            pagination = body.get("pagination") or {}
            if not pagination.get("has_next_page") or not pagination.get("end_cursor"):
                break
            params = {"per_page": PAGE_SIZE, "after": pagination["end_cursor"]}
        return found

    def lists(self) -> list[ListInfo]:
        client = self.client
        return [
            # Named as in Kit; the id says form or sequence.
            ListInfo(id=f"{kind}:{item['id']}", name=str(item.get("name", "")))
            for kind in ("form", "sequence")
            for item in self._pages(client, f"/v4/{KINDS[kind]}", KINDS[kind])
        ]

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return [
            TagInfo(id=str(t["id"]), name=str(t.get("name", "")))
            for t in self._pages(self.client, "/v4/tags", "tags")
        ]

    def _tag_id(self, client: ProviderClient, tag: str, *, create: bool) -> str | None:
        """The id of the tag named exactly `tag` (case-insensitive, as Kit compares
        names), paging through every tag; created when missing and `create`."""
        if cached := self.ids.get("tag", tag):
            return cached
        wanted = tag.strip().lower()
        found = next(
            (
                str(item["id"])
                for item in self._pages(client, "/v4/tags", "tags")
                if str(item.get("name", "")).strip().lower() == wanted
            ),
            None,
        )
        if found is None and create:
            body = client.request("POST", "/v4/tags", json_body={"name": tag.strip()}) or {}
            found = str((body.get("tag") or {})["id"])
        if found is not None:
            self.ids.set("tag", tag, found)
        return found

    def _subscriber(self, client: ProviderClient, email: str) -> dict[str, Any] | None:
        body = client.request(
            "GET", "/v4/subscribers", params={"email_address": email, "status": "all"}
        )
        wanted = email.strip().lower()
        for item in (body or {}).get("subscribers") or []:
            if isinstance(item, dict) and str(item.get("email_address", "")).lower() == wanted:
                return item
        return None

    def _create(self, client: ProviderClient, contact: Contact, *, state: str) -> None:
        body: dict[str, Any] = {"email_address": contact.email}
        # Only what we know is sent. Kit has a first name; a last name goes to the
        # `last_name` custom field most accounts keep (Kit ignores it where missing).
        if contact.first_name:
            body["first_name"] = contact.first_name
        if contact.last_name:
            body["fields"] = {"last_name": contact.last_name}
        body["state"] = state
        client.request("POST", "/v4/subscribers", json_body=body)

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        kind, number = _list(list_id)
        client = self.client
        subscriber = self._subscriber(client, contact.email)
        if subscriber is None:
            self._create(client, contact, state="active")
        elif str(subscriber.get("state", "")) in OPTED_OUT:
            return  # joining a form or sequence would subscribe them again
        client.request(
            "POST",
            f"/v4/{KINDS[kind]}/{number}/subscribers",
            json_body={"email_address": contact.email},
        )

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        _list(list_id)
        raise ProviderError(
            "Kit's API cannot take a subscriber out of a form or sequence; "
            "remove a Kit tag in this action instead.",
            permanent=True,
        )

    def _tag_by_email(self, client: ProviderClient, tag_id: str, email: str) -> None:
        client.request("POST", f"/v4/tags/{tag_id}/subscribers", json_body={"email_address": email})

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        client = self.client
        tag_id = self._tag_id(client, tag, create=True)
        assert tag_id is not None
        try:
            self._tag_by_email(client, tag_id, contact.email)  # one call, usually
            return
        except ProviderError as exc:
            if exc.status != 404:
                raise
        # 404: the subscriber is unknown (Kit tags only existing ones), or the cached
        # tag was deleted at Kit. Create the subscriber only to carry the tag:
        # `inactive`, never subscribed; for one that exists after all, Kit's upsert
        # changes no state ("updating the subscriber state is not supported").
        self._create(client, contact, state="inactive")
        try:
            self._tag_by_email(client, tag_id, contact.email)
            return
        except ProviderError as exc:
            if exc.status != 404:
                raise
        self.ids.forget("tag", tag)  # the subscriber exists: the tag is what went away
        tag_id = self._tag_id(client, tag, create=True)
        assert tag_id is not None
        self._tag_by_email(client, tag_id, contact.email)

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        client = self.client
        tag_id = self._tag_id(client, tag, create=False)
        if tag_id is None:
            return  # nobody carries a tag that does not exist
        try:
            client.request(
                "DELETE",
                f"/v4/tags/{tag_id}/subscribers",
                json_body={"email_address": contact.email},
            )
        except ProviderError as exc:
            if exc.status != 404:  # an unknown subscriber (or tag): nothing to remove
                raise
            self.ids.forget("tag", tag)

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        if action_type not in ("add_tag", "remove_tag"):
            return None
        client = self.client
        subscriber = self._subscriber(client, contact.email)
        tag_id = self._tag_id(client, tag, create=False) if subscriber else None
        if subscriber is None or tag_id is None:
            return action_type == "remove_tag"
        tags = self._pages(client, f"/v4/subscribers/{subscriber['id']}/tags", "tags")
        tagged = any(str(t.get("id")) == tag_id for t in tags)
        return tagged if action_type == "add_tag" else not tagged


def _list(list_id: str) -> tuple[str, str]:
    kind, _, number = str(list_id).partition(":")
    if kind not in KINDS or not number.isdigit():
        raise ProviderError(
            f"A Kit list is a form or a sequence ('form:ID' or 'sequence:ID'); "
            f"{str(list_id)[:40]!r} is neither.",
            permanent=True,
        )
    return kind, number
