"""ActiveCampaign API v3 adapter.

Documented behaviour this follows:
- each account has its own base URL (`https://<account>.api-us1.com`), paths under
  `/api/3`, the key in the `Api-Token` header;
- `POST /contact/sync` creates or updates a contact by email and returns its id;
  list membership is a `contactList` with status 1 (subscribed) or 2 (unsubscribed);
  tags are account-wide (`/tags`), attached with `POST /contactTags` and detached with
  `DELETE /contactTags/{id}`;
- the API allows 5 requests per second per account (429 past it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from core.egress import TargetRefused, url_check
from notifications.providers import register
from notifications.providers.base import (
    Contact,
    CredentialsInvalid,
    EmailMarketingProvider,
    ListInfo,
    TagInfo,
    split_name,
)
from notifications.providers.http import ProviderClient
from notifications.providers.ratelimit import RateLimit, account_key

PAGE_SIZE = 100
MAX_PAGES = 50
SUBSCRIBED, UNSUBSCRIBED = 1, 2


@register
class ActiveCampaignProvider(EmailMarketingProvider):
    name = "activecampaign"
    label = "ActiveCampaign"
    credential_fields = ("api_url", "api_key")
    requests_per_second = 5

    @classmethod
    def clean_credentials(cls, credentials: Any) -> dict[str, str]:
        cleaned = super().clean_credentials(credentials)
        url = cleaned["api_url"].rstrip("/")
        if url.endswith("/api/3"):
            url = url[: -len("/api/3")]
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
            raise CredentialsInvalid(
                "The ActiveCampaign API URL looks like 'https://youraccount.api-us1.com' "
                "(Settings → Developer in ActiveCampaign)."
            )
        if parts.username or parts.password or parts.query or parts.fragment:
            raise CredentialsInvalid("The ActiveCampaign API URL must be a plain https URL.")
        try:
            # The host is the creator's: refuse private and disguised addresses now (each
            # call checks the resolved addresses again, see core/egress.py).
            url_check(url, allow_private=False, require_https=True)
        except TargetRefused:
            raise CredentialsInvalid(
                "The ActiveCampaign API URL must be a public address "
                "(like 'https://youraccount.api-us1.com')."
            ) from None
        cleaned["api_url"] = f"https://{parts.netloc}"
        return cleaned

    @property
    def client(self) -> ProviderClient:
        api_url = str(self.credentials.get("api_url", "")).rstrip("/")
        api_key = str(self.credentials.get("api_key", ""))
        return ProviderClient(
            provider=self.name,
            label=self.label,
            base_url=api_url,
            headers={"Api-Token": api_key},
            secrets=[api_key],
            limiter=RateLimit(
                account_key(self.name, api_url, api_key),
                per_second=self.requests_per_second,
                label=self.label,
            ),
        )

    def validate(self) -> None:
        self.client.request("GET", "/api/3/users/me")

    def _paged(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[Any]:
        client = self.client
        items: list[Any] = []
        for page in range(MAX_PAGES):
            body = (
                client.request(
                    "GET",
                    path,
                    params={**(params or {}), "limit": PAGE_SIZE, "offset": page * PAGE_SIZE},
                )
                or {}
            )
            batch = body.get(key) or []
            items += batch
            total = int((body.get("meta") or {}).get("total") or 0)
            if not batch or len(items) >= total:
                break
        return items

    def lists(self) -> list[ListInfo]:
        return [
            ListInfo(id=str(i["id"]), name=str(i.get("name", "")))
            for i in self._paged("/api/3/lists", "lists")
        ]

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return [
            TagInfo(id=str(t["id"]), name=str(t.get("tag", "")))
            for t in self._paged("/api/3/tags", "tags")
        ]

    def _sync(self, contact: Contact) -> str:
        first, last = split_name(contact.name)
        body = self.client.request(
            "POST",
            "/api/3/contact/sync",
            json_body={"contact": {"email": contact.email, "firstName": first, "lastName": last}},
        )
        return str(body["contact"]["id"])

    def _find_contact(self, contact: Contact) -> str | None:
        body = self.client.request("GET", "/api/3/contacts", params={"email": contact.email}) or {}
        found = body.get("contacts") or []
        return str(found[0]["id"]) if found else None

    def _tag_id(self, tag: str, *, create: bool) -> str | None:
        body = self.client.request("GET", "/api/3/tags", params={"search": tag}) or {}
        for item in body.get("tags") or []:
            if str(item.get("tag", "")).strip().lower() == tag.strip().lower():
                return str(item["id"])
        if not create:
            return None
        created = self.client.request(
            "POST",
            "/api/3/tags",
            json_body={"tag": {"tag": tag, "tagType": "contact", "description": ""}},
        )
        return str(created["tag"]["id"])

    def upsert_contact(self, contact: Contact, list_id: str | None = None) -> None:
        contact_id = self._sync(contact)
        if list_id:
            self._list_status(contact_id, list_id, SUBSCRIBED)

    def _list_status(self, contact_id: str, list_id: str, status: int) -> None:
        self.client.request(
            "POST",
            "/api/3/contactLists",
            json_body={"contactList": {"list": list_id, "contact": contact_id, "status": status}},
        )

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        self._list_status(self._sync(contact), list_id, SUBSCRIBED)

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        contact_id = self._find_contact(contact)
        if contact_id is None:
            return  # not in the account, so not on the list: nothing to undo
        self._list_status(contact_id, list_id, UNSUBSCRIBED)

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        contact_id = self._sync(contact)
        tag_id = self._tag_id(tag, create=True)
        self.client.request(
            "POST",
            "/api/3/contactTags",
            json_body={"contactTag": {"contact": contact_id, "tag": tag_id}},
        )

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        contact_id = self._find_contact(contact)
        tag_id = self._tag_id(tag, create=False) if contact_id else None
        if contact_id is None or tag_id is None:
            return  # no such contact or tag: the contact does not carry it
        body = self.client.request("GET", f"/api/3/contacts/{contact_id}/contactTags") or {}
        for link in body.get("contactTags") or []:
            if str(link.get("tag")) == tag_id:
                self.client.request("DELETE", f"/api/3/contactTags/{link['id']}")

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        adding = action_type in ("add_to_list", "add_tag")
        contact_id = self._find_contact(contact)
        if contact_id is None:
            return not adding  # an unknown contact is on no list and carries no tag
        if action_type in ("add_to_list", "remove_from_list"):
            body = self.client.request("GET", f"/api/3/contacts/{contact_id}/contactLists") or {}
            present = any(
                str(link.get("list")) == str(list_id) and str(link.get("status")) == "1"
                for link in body.get("contactLists") or []
            )
        else:
            tag_id = self._tag_id(tag, create=False)
            if tag_id is None:
                return not adding
            body = self.client.request("GET", f"/api/3/contacts/{contact_id}/contactTags") or {}
            present = any(str(link.get("tag")) == tag_id for link in body.get("contactTags") or [])
        return present if adding else not present
