"""Brevo API v3 adapter.

Documented behaviour this follows (https://developers.brevo.com/reference):
- base `https://api.brevo.com/v3`, the key in the `api-key` header;
- `GET /account` checks the key; `POST /contacts` with `updateEnabled: true` creates or
  updates a contact and adds it to `listIds` (the other lists stay; an existing contact's
  `emailBlacklisted` is left alone unless sent, so nobody is re-subscribed);
- `POST /contacts/lists/{id}/contacts/remove` with `{"emails": [...]}` takes contacts off
  a list, and answers `400 invalid_parameter` ("Contact already removed from list and/or
  does not exist") when none of them was on it; `…/contacts/add` answers the same kind
  of 400 for a contact already on the list or unknown, so it is not used;
- errors are `{code, message}`; the `/contacts` endpoints allow 10 requests per second
  per account; a 429 carries `x-sib-ratelimit-reset` (seconds) rather than `Retry-After`.

Brevo has no contact tags: `tags()` offers none and the tag actions fail with a
permanent error that says so (use a list instead). New contacts are subscribed: Brevo's
double opt-in (`/contacts/doubleOptinConfirmation`) needs a template and a redirect URL
of the creator's and is not offered yet.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from notifications.providers import register
from notifications.providers.base import (
    Contact,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
)
from notifications.providers.http import ProviderClient, parse_retry_after
from notifications.providers.ratelimit import RateLimit, account_key

PAGE_SIZE = 50  # Brevo's maximum page size for lists
MAX_PAGES = 40


class BrevoClient(ProviderClient):
    def fallback_retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(response.headers.get("x-sib-ratelimit-reset"))


@register
class BrevoProvider(EmailMarketingProvider):
    name = "brevo"
    label = "Brevo"
    credential_fields = ("api_key",)
    requests_per_second = 10
    supports_tags = False

    @property
    def client(self) -> ProviderClient:
        api_key = str(self.credentials.get("api_key", ""))
        return BrevoClient(
            provider=self.name,
            label=self.label,
            base_url="https://api.brevo.com",
            headers={"api-key": api_key},
            secrets=[api_key],
            limiter=RateLimit(
                account_key(self.name, api_key),
                per_second=self.requests_per_second,
                label=self.label,
            ),
        )

    def validate(self) -> None:
        self.client.request("GET", "/v3/account")

    def lists(self) -> list[ListInfo]:
        client = self.client
        found: list[ListInfo] = []
        for page in range(MAX_PAGES):
            body = (
                client.request(
                    "GET",
                    "/v3/contacts/lists",
                    params={"limit": PAGE_SIZE, "offset": page * PAGE_SIZE},
                )
                or {}
            )
            items = body.get("lists") or []
            found += [ListInfo(id=str(i["id"]), name=str(i.get("name", ""))) for i in items]
            if not items or len(found) >= int(body.get("count") or 0):
                break
        return found

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return []

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        # One call: create the contact on the list, or add the existing one to it.
        body: dict[str, Any] = {
            "email": contact.email,
            "listIds": [_list_number(list_id)],
            "updateEnabled": True,
        }
        # Only what we know: an absent name is not sent, so Brevo keeps its own.
        attributes = {"FIRSTNAME": contact.first_name, "LASTNAME": contact.last_name}
        if known := {key: value for key, value in attributes.items() if value}:
            body["attributes"] = known
        self.client.request("POST", "/v3/contacts", json_body=body)

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        try:
            self.client.request(
                "POST",
                f"/v3/contacts/lists/{_list_number(list_id)}/contacts/remove",
                json_body={"emails": [contact.email]},
            )
        except ProviderError as exc:
            # Brevo's documented answer for a contact not on the list or unknown:
            # nothing to remove (a missing list is a 404 and still fails).
            if exc.status != 400 or exc.code != "invalid_parameter":
                raise

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        raise self.no_tags()

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        if action_type not in ("add_to_list", "remove_from_list") or not list_id:
            return None
        number = _list_number(list_id)
        try:
            body = self.client.request("GET", f"/v3/contacts/{quote(contact.email, safe='')}")
        except ProviderError as exc:
            if exc.status != 404:
                raise
            body = None
        present = number in {
            int(x) for x in (body or {}).get("listIds") or [] if str(x).lstrip("-").isdigit()
        }
        return present if action_type == "add_to_list" else not present

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        raise self.no_tags()


def _list_number(list_id: str) -> int:
    try:
        return int(list_id)
    except (TypeError, ValueError):
        raise ProviderError(
            f"Brevo list ids are numbers; {str(list_id)[:40]!r} is not one.", permanent=True
        ) from None
