"""Brevo API v3, as its reference and its official SDK (`brevo-python`) define it.

Sources:
- https://developers.brevo.com/reference/create-contact (`POST /v3/contacts`; the body
  keys are the SDK's `contacts.create_contact`: attributes, email, emailBlacklisted,
  ext_id, listIds, smsBlacklisted, smtpBlacklistSender, updateEnabled, forceMerge,
  getId); 201 `{id}` when created, 204 when `updateEnabled` updated an existing contact,
  400 `duplicate_parameter` without it; `listIds` adds to those lists, the others stay;
  `emailBlacklisted` changes only when sent; attributes must exist in the account;
- https://developers.brevo.com/reference/add-contact-to-list and
  …/remove-contact-from-list: body `{"emails": [...]}` (SDK
  `AddContactToListRequestBodyEmails` / `RemoveContactFromListRequestBodyEmails`);
  201 `PostContactInfo {contacts: {success, failure}}`; when no email could be added
  (already there, or unknown) a 400 `invalid_parameter` "Contact already in list and/or
  does not exist", when none could be removed "Contact already removed from list and/or
  does not exist"; an unknown list is a 404 `document_not_found`;
- https://developers.brevo.com/reference/get-lists-1 (`limit` at most 50, `offset`,
  `count`), https://developers.brevo.com/reference/get-contact-info (404
  `document_not_found` for an unknown contact);
- https://developers.brevo.com/docs/how-it-works#error-codes (`{code, message}`) and
  https://developers.brevo.com/docs/limit-headers: a 429 carries
  `x-sib-ratelimit-limit`, `x-sib-ratelimit-remaining`, `x-sib-ratelimit-reset`.
An unsubscribed Brevo contact is `emailBlacklisted` (for every list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.notifications.providers.fakes.base import (
    SUBSCRIBED,
    UNSUBSCRIBED,
    Call,
    ContactView,
    FakeProvider,
    Reply,
    unknown_keys,
)

CREATE_CONTACT = {
    "attributes", "email", "emailBlacklisted", "ext_id", "listIds", "smsBlacklisted",
    "smtpBlacklistSender", "updateEnabled", "forceMerge", "getId",
}  # fmt: skip
LIST_EMAILS = {"emails"}
ATTRIBUTES = {"FIRSTNAME", "LASTNAME", "SMS", "EXT_ID"}  # a new account's contact attributes
MAX_LISTS_PAGE = 50


def error(status: int, code: str, text: str) -> Reply:
    return Reply(status, {"code": code, "message": text})


@dataclass
class BrevoContact:
    id: int
    email: str
    attributes: dict[str, Any] = field(default_factory=dict)
    list_ids: set[int] = field(default_factory=set)
    blacklisted: bool = False


class BrevoFake(FakeProvider):
    provider = "brevo"
    first_name_key = "FIRSTNAME"
    last_name_key = "LASTNAME"

    def __init__(self) -> None:
        super().__init__()
        self.lists: dict[int, str] = {}
        self.people: dict[str, BrevoContact] = {}  # by lower-cased email

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def authorize(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("api-key") != self.api_key:
            return error(401, "unauthorized", "Key not found")
        return None

    def rate_limited(self) -> Reply:
        return Reply(
            429,
            {"code": "too_many_requests", "message": "The expected rate limit is exceeded."},
            {
                "x-sib-ratelimit-limit": "10",
                "x-sib-ratelimit-remaining": "0",
                "x-sib-ratelimit-reset": "1",
            },
        )

    def route(self, call: Call) -> Reply:
        path, method, body = call.path, call.method, call.body
        if path == "/v3/account" and method == "GET":
            return Reply(200, {"email": "owner@example.com", "companyName": "Creator"})
        if path == "/v3/contacts/lists" and method == "GET":
            limit = min(int((call.query.get("limit") or ["10"])[0]), MAX_LISTS_PAGE)
            offset = int((call.query.get("offset") or ["0"])[0])
            items = [
                {
                    "id": k,
                    "name": v,
                    "folderId": 1,
                    "uniqueSubscribers": 0,
                    "totalBlacklisted": 0,
                    "totalSubscribers": 0,
                }
                for k, v in self.lists.items()
            ]
            return Reply(200, {"lists": items[offset : offset + limit], "count": len(items)})
        if path == "/v3/contacts" and method == "POST":
            return self._create(body)
        if m := re.fullmatch(r"/v3/contacts/lists/(\d+)/contacts/(add|remove)", path):
            if method != "POST":
                return error(405, "method_not_allowed", "Method not allowed")
            return self._membership(int(m[1]), m[2], body)
        if (m := re.fullmatch(r"/v3/contacts/([^/]+)", path)) and method == "GET":
            person = self.people.get(unquote(m[1]).lower())
            if person is None:
                return error(404, "document_not_found", "Contact does not exist")
            return Reply(
                200,
                {
                    "id": person.id,
                    "email": person.email,
                    "emailBlacklisted": person.blacklisted,
                    "smsBlacklisted": False,
                    "attributes": dict(person.attributes),
                    "listIds": sorted(person.list_ids),
                },
            )
        return error(404, "document_not_found", "Not found")

    def _create(self, body: Any) -> Reply:
        if bad := unknown_keys(body, CREATE_CONTACT):
            return error(400, "invalid_parameter", f"Invalid parameters: {', '.join(bad)}")
        email = str(body.get("email") or "")
        if "@" not in email:
            return error(400, "invalid_parameter", "Invalid email address")
        attributes = body.get("attributes") or {}
        for name in attributes:
            if name not in ATTRIBUTES:
                return error(400, "invalid_parameter", f"Attribute {name} does not exist")
        list_ids = body.get("listIds") or []
        for list_id in list_ids:
            if list_id not in self.lists:
                return error(404, "document_not_found", "List ID does not exist")
        person = self.people.get(email.lower())
        created = person is None
        if person is not None and not body.get("updateEnabled"):
            return error(400, "duplicate_parameter", "Contact already exist")
        if person is None:
            person = BrevoContact(id=self.new_id(), email=email)
            self.people[email.lower()] = person
        person.attributes.update(attributes)
        person.list_ids.update(list_ids)
        for list_id in list_ids:
            self.effect(person.email, "add_to_list", str(list_id))
        if "emailBlacklisted" in body:
            person.blacklisted = bool(body["emailBlacklisted"])
        return Reply(201, {"id": person.id}) if created else Reply(204)

    def _membership(self, list_id: int, action: str, body: Any) -> Reply:
        if list_id not in self.lists:
            return error(404, "document_not_found", "List ID does not exist")
        emails = body.get("emails") if isinstance(body, dict) else None
        if unknown_keys(body, LIST_EMAILS) or not isinstance(emails, list) or not emails:
            return error(400, "invalid_parameter", "emails is required")
        success, failure = [], []
        for email in emails:
            person = self.people.get(str(email).lower())
            on_list = person is not None and list_id in person.list_ids
            if person is None or on_list == (action == "add"):
                failure.append(email)
                continue
            if action == "add":
                person.list_ids.add(list_id)
                self.effect(person.email, "add_to_list", str(list_id))
            else:
                person.list_ids.discard(list_id)
            success.append(email)
        if not success:
            what = "in list" if action == "add" else "removed from list"
            return error(400, "invalid_parameter", f"Contact already {what} and/or does not exist")
        return Reply(201, {"contacts": {"success": success, "failure": failure}})

    # --- state for the tests -------------------------------------------------------------

    def seed_list(self, name: str) -> str:
        with self.lock:
            list_id = self.new_id()
            self.lists[list_id] = name
            return str(list_id)

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        raise AssertionError("Brevo has no contact tags")

    def seed_contact(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        lists: dict[str, str] | None = None,
        tags: set[str] | None = None,
    ) -> None:
        assert not tags, "Brevo has no contact tags"
        statuses = set((lists or {}).values())
        assert statuses <= {SUBSCRIBED, UNSUBSCRIBED} and len(statuses) <= 1, (
            "a Brevo contact is blacklisted (unsubscribed) for every list or for none"
        )
        with self.lock:
            attributes = {"FIRSTNAME": first_name, "LASTNAME": last_name}
            self.people[email.lower()] = BrevoContact(
                id=self.new_id(),
                email=email,
                attributes={k: v for k, v in attributes.items() if v is not None},
                list_ids={int(k) for k in lists or {}},
                blacklisted=UNSUBSCRIBED in statuses,
            )

    def contact(self, email: str) -> ContactView | None:
        with self.lock:
            person = self.people.get(email.lower())
            if person is None:
                return None
            status = UNSUBSCRIBED if person.blacklisted else SUBSCRIBED
            return ContactView(
                email=person.email,
                first_name=person.attributes.get("FIRSTNAME"),
                last_name=person.attributes.get("LASTNAME"),
                lists={str(k): status for k in person.list_ids},
                tags=set(),
            )

    def contacts(self) -> list[ContactView]:
        with self.lock:
            emails = sorted(p.email for p in self.people.values())
        return [c for e in emails if (c := self.contact(e)) is not None]
