"""ActiveCampaign API v3 adapter.

Documented behaviour this follows (https://developers.activecampaign.com/reference):
- each account has its own base URL (`https://<account>.api-us1.com`), paths under
  `/api/3`, the key in the `Api-Token` header;
- `POST /contact/sync` creates or updates a contact by email and returns its id;
  `GET /contacts?email=` finds one without creating it;
- list membership is a `contactList` with status 1 (active) or 2 (unsubscribed) (0
  unconfirmed, 3 bounced); `POST /contactLists` with status 1 re-subscribes an
  unsubscribed contact, so a contact with any status on the list is never sent status 1;
- tags are account-wide; `GET /tags?search=` is a *contains* match, paged with
  `limit`/`offset` and `meta.total`; attached with `POST /contactTags`, detached with
  `DELETE /contactTags/{id}`;
- the API allows 5 requests per second per account (429 past it).

Contact and tag ids never change, so they are cached per integration (`self.ids`): an
`add_tag` for a known contact and tag is one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from core.egress import TargetRefused, url_check
from notifications.providers import register
from notifications.providers.base import (
    Contact,
    CredentialsInvalid,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
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
    creates_tags = True

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
        known = {"email": contact.email, "firstName": contact.first_name}
        known["lastName"] = contact.last_name
        body = self.client.request(
            "POST",
            "/api/3/contact/sync",
            # Only what we know: an absent name is not sent, so ActiveCampaign keeps its own.
            json_body={"contact": {key: value for key, value in known.items() if value}},
        )
        contact_id = str(body["contact"]["id"])
        self.ids.set("contact", contact.email, contact_id)
        return contact_id

    def _contact_id(self, contact: Contact, *, create: bool) -> str | None:
        """The contact's id: cached, else created or updated (`create`, for the actions
        that need a contact), else looked up (None when ActiveCampaign has none)."""
        if cached := self.ids.get("contact", contact.email):
            return cached
        if create:
            return self._sync(contact)
        body = self.client.request("GET", "/api/3/contacts", params={"email": contact.email})
        for item in (body or {}).get("contacts") or []:
            if str(item.get("email", "")).strip().lower() == contact.email.strip().lower():
                self.ids.set("contact", contact.email, str(item["id"]))
                return str(item["id"])
        return None

    def _tag_id(self, tag: str, *, create: bool) -> str | None:
        """The id of the tag named exactly `tag` (case aside), paging through every tag
        whose name contains it; created when missing and `create`."""
        if cached := self.ids.get("tag", tag):
            return cached
        wanted = tag.strip()
        found: str | None = None
        for item in self._paged("/api/3/tags", "tags", {"search": wanted}):
            name = str(item.get("tag", "")).strip()
            if name == wanted:
                found = str(item["id"])
                break
            if found is None and name.lower() == wanted.lower():
                found = str(item["id"])
        if found is None and create:
            try:
                created = self.client.request(
                    "POST",
                    "/api/3/tags",
                    json_body={"tag": {"tag": wanted, "tagType": "contact", "description": ""}},
                )
                found = str(created["tag"]["id"])
            except ProviderError as exc:
                # Another worker created it a moment ago (names are unique: 422).
                if exc.status != 422:
                    raise
                found = self._tag_id(tag, create=False)
                if found is None:
                    raise
        if found is not None:
            self.ids.set("tag", tag, found)
        return found

    def _list_statuses(self, contact_id: str) -> dict[str, str]:
        body = self.client.request("GET", f"/api/3/contacts/{contact_id}/contactLists") or {}
        return {
            str(link.get("list")): str(link.get("status"))
            for link in body.get("contactLists") or []
        }

    def _list_status(self, contact_id: str, list_id: str, status: int) -> None:
        self.client.request(
            "POST",
            "/api/3/contactLists",
            json_body={"contactList": {"list": list_id, "contact": contact_id, "status": status}},
        )

    def _with_fresh_ids(self, contact: Contact, tag: str, action: Callable[[], None]) -> None:
        """Run `action`; if a cached id was stale (deleted at ActiveCampaign: 404), look
        the ids up again once."""
        cached = self.ids.get("contact", contact.email) or (tag and self.ids.get("tag", tag))
        try:
            action()
        except ProviderError as exc:
            if exc.status != 404 or not cached:
                raise
            self.ids.forget("contact", contact.email)
            if tag:
                self.ids.forget("tag", tag)
            action()

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        def act() -> None:
            contact_id = self._contact_id(contact, create=True)
            assert contact_id is not None
            if str(list_id) in self._list_statuses(contact_id):
                # On the list already with a status of its own: active (1), unsubscribed
                # by their own choice (2), unconfirmed (0) or bounced (3). Status 1 would
                # re-subscribe or confirm them for them, so nothing is sent.
                return
            self._list_status(contact_id, list_id, SUBSCRIBED)

        self._with_fresh_ids(contact, "", act)

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        def act() -> None:
            contact_id = self._contact_id(contact, create=False)
            if contact_id is None:
                return  # not in the account, so not on the list: nothing to undo
            if self._list_statuses(contact_id).get(str(list_id)) != str(SUBSCRIBED):
                return  # not on the list (or unsubscribed already): nothing to record
            self._list_status(contact_id, list_id, UNSUBSCRIBED)

        self._with_fresh_ids(contact, "", act)

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        def act() -> None:
            # A tag needs a contact: sync creates one on no list (no list status changes).
            contact_id = self._contact_id(contact, create=True)
            tag_id = self._tag_id(tag, create=True)
            self.client.request(
                "POST",
                "/api/3/contactTags",
                json_body={"contactTag": {"contact": contact_id, "tag": tag_id}},
            )

        self._with_fresh_ids(contact, tag, act)

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        def act() -> None:
            contact_id = self._contact_id(contact, create=False)
            tag_id = self._tag_id(tag, create=False) if contact_id else None
            if contact_id is None or tag_id is None:
                return  # no such contact or tag: the contact does not carry it
            body = self.client.request("GET", f"/api/3/contacts/{contact_id}/contactTags") or {}
            for link in body.get("contactTags") or []:
                if str(link.get("tag")) == tag_id:
                    self.client.request("DELETE", f"/api/3/contactTags/{link['id']}")

        self._with_fresh_ids(contact, tag, act)

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        adding = action_type in ("add_to_list", "add_tag")
        contact_id = self._contact_id(contact, create=False)
        if contact_id is None:
            return not adding  # an unknown contact is on no list and carries no tag
        if action_type in ("add_to_list", "remove_from_list"):
            present = self._list_statuses(contact_id).get(str(list_id)) == str(SUBSCRIBED)
        else:
            tag_id = self._tag_id(tag, create=False)
            if tag_id is None:
                return not adding
            body = self.client.request("GET", f"/api/3/contacts/{contact_id}/contactTags") or {}
            present = any(str(link.get("tag")) == tag_id for link in body.get("contactTags") or [])
        return present if adding else not present
