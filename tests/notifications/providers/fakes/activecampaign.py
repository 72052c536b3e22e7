"""ActiveCampaign API v3, as its reference defines it (there is no official Python SDK).

Sources (https://developers.activecampaign.com/reference/…):
- `authentication`: the key in the `Api-Token` header; a wrong key is a 403 with
  `{"message": …}`;
- `sync-a-contacts-data` (`POST /api/3/contact/sync`): creates or updates by email and
  changes only the fields sent; 201 when created, 200 when updated;
- `list-all-contacts` (`GET /api/3/contacts?email=`): exact email filter, never creates;
- `update-list-status-for-contact` (`POST /api/3/contactLists`): status 1 subscribes,
  2 unsubscribes; sending 1 re-subscribes someone who unsubscribed;
  `GET /api/3/contacts/{id}/contactLists`;
- `retrieve-all-tags` (`GET /api/3/tags`): `search` is a *contains* match, `limit`
  (default 20, at most 100) and `offset` page it, `meta.total` (a string) counts all;
  `create-a-new-tag` (`POST /api/3/tags`, a duplicate name is a 422 with `errors[]`);
- `add-a-tag-to-contact` (`POST /api/3/contactTags`), `remove-a-contacts-tag`
  (`DELETE /api/3/contactTags/{id}`), `GET /api/3/contacts/{id}/contactTags`;
- `rate-limits`: 5 requests per second per account; past it a 429 with `Retry-After`
  (seconds), `RateLimit-Limit` and `RateLimit-Remaining`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.notifications.providers.fakes.base import (
    SUBSCRIBED,
    UNSUBSCRIBED,
    Call,
    ContactView,
    FakeProvider,
    Reply,
    unknown_keys,
)

CONTACT_FIELDS = {"email", "firstName", "lastName", "phone", "fieldValues", "orgid", "deleted"}
STATUS_NAMES = {"1": SUBSCRIBED, "2": UNSUBSCRIBED}
STATUS_NUMBERS = {SUBSCRIBED: "1", UNSUBSCRIBED: "2"}
MAX_LIMIT = 100


@dataclass
class AcContact:
    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    lists: dict[str, str] = field(default_factory=dict)  # list id → "1" | "2"
    tags: dict[int, int] = field(default_factory=dict)  # contactTag id → tag id


def message(status: int, text: str) -> Reply:
    return Reply(status, {"message": text})


def invalid(title: str, code: str, pointer: str) -> Reply:
    """ActiveCampaign's 422: `{errors: [{title, detail, code, source: {pointer}}]}`."""
    error = {"title": title, "detail": "", "code": code, "source": {"pointer": pointer}}
    return Reply(422, {"errors": [error]})


class ActiveCampaignFake(FakeProvider):
    provider = "activecampaign"
    first_name_key = "firstName"
    last_name_key = "lastName"

    def __init__(self) -> None:
        super().__init__()
        self.lists: dict[str, str] = {}  # id → name
        self.tags: dict[int, str] = {}  # id → name
        self.people: dict[int, AcContact] = {}

    def credentials(self) -> dict[str, str]:
        # The adapter checks the URL's shape; PROVIDER_BASE_URLS sends the calls here.
        return {"api_url": "https://fake.api-us1.com", "api_key": self.api_key}

    def authorize(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("Api-Token") != self.api_key:
            return message(403, "You are not authorized to access this resource")
        return None

    def rate_limited(self) -> Reply:
        return Reply(
            429,
            {"message": "Too Many Requests"},
            {"Retry-After": "1", "RateLimit-Limit": "5", "RateLimit-Remaining": "0"},
        )

    def _by_email(self, email: str) -> AcContact | None:
        wanted = email.strip().lower()
        return next((c for c in self.people.values() if c.email.lower() == wanted), None)

    def _contact_json(self, c: AcContact) -> dict[str, Any]:
        return {
            "id": str(c.id),
            "email": c.email,
            "firstName": c.first_name,
            "lastName": c.last_name,
        }

    def route(self, call: Call) -> Reply:
        path, method, body = call.path, call.method, call.body
        if path == "/api/3/users/me" and method == "GET":
            return Reply(200, {"user": {"id": "1", "username": "owner"}})
        if path == "/api/3/lists" and method == "GET":
            items = [{"id": k, "name": v} for k, v in self.lists.items()]
            return self._page(call, "lists", items)
        if path == "/api/3/contact/sync" and method == "POST":
            data = (body or {}).get("contact") if isinstance(body, dict) else None
            if not isinstance(data, dict) or unknown_keys(data, CONTACT_FIELDS):
                return invalid("Invalid contact", "field_invalid", "/data/attributes")
            if "@" not in str(data.get("email", "")):
                return invalid(
                    "Email address is not valid.", "email_invalid", "/data/attributes/email"
                )
            person = self._by_email(data["email"])
            created = person is None
            if person is None:
                person = AcContact(id=self.new_id(), email=data["email"])
                self.people[person.id] = person
            if "firstName" in data:
                person.first_name = data["firstName"]
            if "lastName" in data:
                person.last_name = data["lastName"]
            return Reply(
                201 if created else 200, {"contact": self._contact_json(person), "fieldValues": []}
            )
        if path == "/api/3/contacts" and method == "GET":
            email = (call.query.get("email") or [""])[0]
            person = self._by_email(email) if email else None
            found = [self._contact_json(person)] if person else []
            return Reply(200, {"contacts": found, "meta": {"total": str(len(found))}})
        if m := re.fullmatch(r"/api/3/contacts/(\d+)/(contactLists|contactTags)", path):
            person = self.people.get(int(m[1]))
            if person is None or method != "GET":
                return message(404, f"No Result found for Subscriber with id {m[1]}")
            if m[2] == "contactLists":
                links = [
                    {"contact": str(person.id), "list": k, "status": v, "id": f"{person.id}{k}"}
                    for k, v in person.lists.items()
                ]
                return Reply(200, {"contactLists": links})
            links = [
                {"contact": str(person.id), "tag": str(t), "id": str(link)}
                for link, t in person.tags.items()
            ]
            return Reply(200, {"contactTags": links})
        if path == "/api/3/contactLists" and method == "POST":
            data = (body or {}).get("contactList") or {}
            person = self.people.get(int(str(data.get("contact") or 0)))
            list_id = str(data.get("list"))
            if person is None:
                return message(404, f"No Result found for Subscriber with id {data.get('contact')}")
            if list_id not in self.lists:
                return message(404, f"No Result found for List with id {list_id}")
            if str(data.get("status")) not in STATUS_NAMES:
                return invalid("Invalid status", "field_invalid", "/data/attributes/status")
            person.lists[list_id] = str(data["status"])
            if person.lists[list_id] == "1":
                self.effect(person.email, "add_to_list", list_id)
            return Reply(
                201,
                {
                    "contactList": {
                        "contact": str(person.id),
                        "list": list_id,
                        "status": person.lists[list_id],
                    }
                },
            )
        if path == "/api/3/tags" and method == "GET":
            search = (call.query.get("search") or [""])[0].lower()
            items = [
                {"id": str(k), "tag": v, "tagType": "contact"}
                for k, v in self.tags.items()
                if search in v.lower()
            ]
            return self._page(call, "tags", items)
        if path == "/api/3/tags" and method == "POST":
            data = (body or {}).get("tag") or {}
            name = str(data.get("tag") or "")
            if not name:
                return invalid("Tag name is required", "field_missing", "/data/attributes/tag")
            if any(v.lower() == name.lower() for v in self.tags.values()):
                return invalid("The tag name must be unique", "duplicate", "/data/attributes/tag")
            tag_id = self.new_id()
            self.tags[tag_id] = name
            return Reply(201, {"tag": {"id": str(tag_id), "tag": name, "tagType": "contact"}})
        if path == "/api/3/contactTags" and method == "POST":
            data = (body or {}).get("contactTag") or {}
            person = self.people.get(int(str(data.get("contact") or 0)))
            tag_id = int(str(data.get("tag") or 0))
            if person is None:
                return message(404, f"No Result found for Subscriber with id {data.get('contact')}")
            if tag_id not in self.tags:
                return message(404, f"No Result found for Tag with id {tag_id}")
            link = next((k for k, v in person.tags.items() if v == tag_id), None)
            if link is None:
                link = self.new_id()
                person.tags[link] = tag_id
            self.effect(person.email, "add_tag", self.tags[tag_id])
            return Reply(
                201,
                {"contactTag": {"id": str(link), "contact": str(person.id), "tag": str(tag_id)}},
            )
        if m := re.fullmatch(r"/api/3/contactTags/(\d+)", path):
            for person in self.people.values():
                if int(m[1]) in person.tags and method == "DELETE":
                    del person.tags[int(m[1])]
                    return Reply(200, {})
            return message(404, f"No Result found for ContactTag with id {m[1]}")
        return message(404, "Not found")

    def _page(self, call: Call, key: str, items: list[dict[str, Any]]) -> Reply:
        limit = min(int((call.query.get("limit") or ["20"])[0]), MAX_LIMIT)
        offset = int((call.query.get("offset") or ["0"])[0])
        return Reply(200, {key: items[offset : offset + limit], "meta": {"total": str(len(items))}})

    # --- state for the tests -------------------------------------------------------------

    def seed_list(self, name: str) -> str:
        with self.lock:
            list_id = str(self.new_id())
            self.lists[list_id] = name
            return list_id

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        with self.lock:
            for name in names:
                if name not in self.tags.values():
                    self.tags[self.new_id()] = name

    def seed_contact(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        lists: dict[str, str] | None = None,
        tags: set[str] | None = None,
    ) -> None:
        with self.lock:
            self.seed_tags(sorted(tags or ()))
            person = AcContact(
                id=self.new_id(),
                email=email,
                first_name=first_name or "",
                last_name=last_name or "",
                lists={k: STATUS_NUMBERS[v] for k, v in (lists or {}).items()},
            )
            by_name = {v: k for k, v in self.tags.items()}
            for name in tags or ():
                person.tags[self.new_id()] = by_name[name]
            self.people[person.id] = person

    def contact(self, email: str) -> ContactView | None:
        with self.lock:
            person = self._by_email(email)
            if person is None:
                return None
            return ContactView(
                email=person.email,
                first_name=person.first_name or None,
                last_name=person.last_name or None,
                lists={k: STATUS_NAMES[v] for k, v in person.lists.items()},
                tags={self.tags[t] for t in person.tags.values()},
            )

    def contacts(self) -> list[ContactView]:
        with self.lock:
            emails = sorted(p.email for p in self.people.values())
        return [c for e in emails if (c := self.contact(e)) is not None]
