"""Mailchimp Marketing API v3, as its reference and its published SDK models define it.

Sources:
- list members: https://mailchimp.com/developer/marketing/api/list-members/ — the member
  id is the MD5 of the lower-cased email; `PUT …/members/{hash}` "add or update"
  (body `AddListMembers2`: `status_if_new` is used only for a new member, `status`
  changes an existing one); `POST …/members` (body `AddListMembers1`: `status` required,
  `tags` a list of names) answers 400 "Member Exists" for a member; `PATCH` (body
  `AddListMembers3`) updates a member, `status` included; `DELETE` archives;
  a non-member is a 404 "Resource Not Found" on every member path;
- member tags: https://mailchimp.com/developer/marketing/api/list-member-tags/ — body
  `MemberTags` `{tags: [{name, status: active|inactive}], is_syncing?}`; an active tag
  that does not exist is created; 204;
- tags are static segments: https://mailchimp.com/developer/marketing/api/list-segments/
  (`type=static`, `count` ≤ 1000, `offset`, `total_items`);
- errors: https://mailchimp.com/developer/marketing/docs/errors/ — problem+json
  `{type, title, status, detail, instance}`, with `errors: [{field, message}]` for a
  400 "Invalid Resource"; 429 "Too Many Requests" past 10 simultaneous connections,
  without `Retry-After`;
- re-adding an archived member through the API sets the status sent, it does not
  restore the status it had before it was archived (Mailchimp support, as quoted in
  https://stackoverflow.com/questions/63584277).
The body key sets below are the SDK models' (`AddListMembers1`, `AddListMembers2`,
`AddListMembers3`, `MemberTags`, as generated from Mailchimp's OpenAPI definition for
its official SDKs).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from tests.notifications.providers.fakes.base import (
    ARCHIVED,
    Call,
    ContactView,
    FakeProvider,
    Reply,
    unknown_keys,
)

STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}
ADD_LIST_MEMBERS_2 = {
    "email_address", "status_if_new", "email_type", "interests", "ip_opt", "ip_signup",
    "language", "location", "marketing_permissions", "merge_fields", "status",
    "timestamp_opt", "timestamp_signup", "vip",
}  # fmt: skip
ADD_LIST_MEMBERS_1 = {
    "email_address", "email_type", "status", "merge_fields", "interests", "language", "vip",
    "location", "marketing_permissions", "ip_signup", "timestamp_signup", "ip_opt",
    "timestamp_opt", "tags",
}  # fmt: skip
ADD_LIST_MEMBERS_3 = ADD_LIST_MEMBERS_1 - {"tags"}  # PATCH …/members/{hash}
MEMBER_TAGS = {"tags", "is_syncing"}
MERGE_TAGS = {"FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY"}  # a new audience's fields
MAX_COUNT = 1000
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"


def member_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def problem(status: int, title: str, detail: str, **extra: Any) -> Reply:
    body = {"type": ERRORS_DOC, "title": title, "status": status, "detail": detail}
    body.update(instance="00000000-0000-0000-0000-000000000000", **extra)
    return Reply(status, body, {"Content-Type": "application/problem+json"})


def not_found() -> Reply:
    return problem(404, "Resource Not Found", "The requested resource could not be found.")


def invalid(errors: list[dict[str, str]]) -> Reply:
    detail = (
        "The resource submitted could not be validated. For field-specific details, "
        "see the 'errors' array."
    )
    return problem(400, "Invalid Resource", detail, errors=errors)


@dataclass
class Member:
    email: str
    status: str
    merge_fields: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    language: str = ""


@dataclass
class Audience:
    id: str
    name: str
    members: dict[str, Member] = field(default_factory=dict)  # by member hash
    tags: dict[str, int] = field(default_factory=dict)  # name → segment id


class MailchimpFake(FakeProvider):
    provider = "mailchimp"
    first_name_key = "FNAME"
    last_name_key = "LNAME"

    def __init__(self) -> None:
        super().__init__()
        self.api_key = f"{self.api_key.replace('-', '')}-us21"
        self.audiences: dict[str, Audience] = {}

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def authorize(self, headers: dict[str, str]) -> Reply | None:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        try:
            password = base64.b64decode(token).decode().partition(":")[2]
        except ValueError:
            password = ""
        if scheme != "Basic" or password != self.api_key:
            return problem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        return None

    def rate_limited(self) -> Reply:
        return problem(
            429,
            "Too Many Requests",
            "You have exceeded the limit of 10 simultaneous connections.",
        )

    # --- routes --------------------------------------------------------------------------

    def route(self, call: Call) -> Reply:
        path, method = call.path, call.method
        if path == "/3.0/ping" and method == "GET":
            return Reply(200, {"health_status": "Everything's Chimpy!"})
        if path == "/3.0/lists" and method == "GET":
            items = [{"id": a.id, "name": a.name} for a in self.audiences.values()]
            return self._page(call, "lists", items)
        m = re.fullmatch(r"/3\.0/lists/([^/]+)(/.*)?", path)
        if not m or m[1] not in self.audiences:
            return not_found()
        audience, rest = self.audiences[m[1]], m[2] or ""
        if rest == "/segments" and method == "GET":
            kind = (call.query.get("type") or [""])[0]
            items = [
                {"id": sid, "name": name, "type": "static", "member_count": 0}
                for name, sid in audience.tags.items()
                if kind in ("", "static")
            ]
            return self._page(call, "segments", items)
        if rest == "/members" and method == "POST":
            return self._add_member(audience, call.body)
        m2 = re.fullmatch(r"/members/([0-9a-f]{32})(/tags)?", rest)
        if not m2:
            return not_found()
        digest, tags = m2[1], m2[2]
        member = audience.members.get(digest)
        if tags:
            if method != "POST":
                return not_found()
            if member is None:
                return not_found()
            return self._member_tags(audience, member, call.body)
        if method == "GET":
            return Reply(200, self._member_json(audience, member)) if member else not_found()
        if method == "PUT":
            return self._put_member(audience, digest, member, call.body)
        if method == "PATCH":
            if member is None:
                return not_found()
            if errors := self._check_fields(call.body, ADD_LIST_MEMBERS_3):
                return invalid(errors)
            if "status" in call.body:
                member.status = call.body["status"]
            member.merge_fields.update(call.body.get("merge_fields") or {})
            return Reply(200, self._member_json(audience, member))
        if method == "DELETE":
            if member is None:
                return not_found()
            member.status = ARCHIVED
            return Reply(204)
        return problem(405, "Method Not Allowed", "The requested method is not allowed.")

    def _page(self, call: Call, key: str, items: list[dict[str, Any]]) -> Reply:
        count = min(int((call.query.get("count") or ["10"])[0]), MAX_COUNT)
        offset = int((call.query.get("offset") or ["0"])[0])
        return Reply(200, {key: items[offset : offset + count], "total_items": len(items)})

    def _member_json(self, audience: Audience, member: Member) -> dict[str, Any]:
        return {
            "id": member_hash(member.email),
            "email_address": member.email,
            "status": member.status,
            "merge_fields": dict(member.merge_fields),
            "tags": [{"id": audience.tags[t], "name": t} for t in sorted(member.tags)],
            "list_id": audience.id,
        }

    def _check_fields(self, body: Any, allowed: set[str]) -> list[dict[str, str]]:
        errors = [
            {"field": key, "message": "Schema describes object, unknown property found"}
            for key in unknown_keys(body, allowed)
        ]
        if errors:
            return errors
        email = body.get("email_address")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            errors.append(
                {"field": "email_address", "message": "This value should be a valid email."}
            )
        for tag in body.get("merge_fields") or {}:
            if tag not in MERGE_TAGS:
                errors.append(
                    {"field": f"merge_fields.{tag}", "message": "Merge field does not exist."}
                )
        for key in ("status", "status_if_new"):
            if key in body and body[key] not in STATUSES:
                errors.append({"field": key, "message": "Value is not one of the enum."})
        return errors

    def _put_member(
        self, audience: Audience, digest: str, member: Member | None, body: Any
    ) -> Reply:
        if errors := self._check_fields(body, ADD_LIST_MEMBERS_2):
            return invalid(errors)
        if member_hash(str(body.get("email_address", ""))) != digest and body.get("email_address"):
            return problem(
                400, "Invalid Resource", "The email address does not match the member id."
            )
        if member is None or member.status == ARCHIVED:
            status = body.get("status") or body.get("status_if_new")
            if not status:
                return invalid([{"field": "status_if_new", "message": "This value is required."}])
            # An archived member comes back with its profile (fields, tags) and the status
            # sent now.
            member = Member(
                email=body["email_address"],
                status=status,
                merge_fields=dict(member.merge_fields) if member else {},
                tags=set(member.tags) if member else set(),
            )
            audience.members[digest] = member
        elif "status" in body:
            member.status = body["status"]
        self.effect(member.email, "add_to_list", audience.id)
        member.merge_fields.update(body.get("merge_fields") or {})
        member.language = body.get("language", member.language)
        return Reply(200, self._member_json(audience, member))

    def _add_member(self, audience: Audience, body: Any) -> Reply:
        if errors := self._check_fields(body, ADD_LIST_MEMBERS_1):
            return invalid(errors)
        if "status" not in body:
            return invalid([{"field": "status", "message": "This value is required."}])
        digest = member_hash(str(body.get("email_address", "")))
        existing = audience.members.get(digest)
        if existing is not None and existing.status != ARCHIVED:
            return problem(
                400,
                "Member Exists",
                f"{body['email_address']} is already a list member. Use PUT to insert or "
                "update list members.",
            )
        member = Member(
            email=body["email_address"],
            status=body["status"],
            merge_fields=dict(body.get("merge_fields") or {}),
        )
        for name in body.get("tags") or []:
            audience.tags.setdefault(name, self.new_id())
            member.tags.add(name)
            self.effect(member.email, "add_tag", name)
        audience.members[digest] = member
        self.effect(member.email, "add_to_list", audience.id)
        return Reply(200, self._member_json(audience, member))

    def _member_tags(self, audience: Audience, member: Member, body: Any) -> Reply:
        errors = [
            {"field": key, "message": "Schema describes object, unknown property found"}
            for key in unknown_keys(body, MEMBER_TAGS)
        ]
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list):
            errors.append({"field": "tags", "message": "This value is required."})
        for tag in tags or []:
            if not isinstance(tag, dict) or set(tag) - {"name", "status"} or not tag.get("name"):
                errors.append({"field": "tags", "message": "Each tag needs a name and a status."})
            elif tag.get("status") not in ("active", "inactive"):
                errors.append({"field": "tags.status", "message": "Value is not one of the enum."})
        if errors:
            return invalid(errors)
        for tag in tags or []:
            if tag["status"] == "active":
                audience.tags.setdefault(tag["name"], self.new_id())
                member.tags.add(tag["name"])
                self.effect(member.email, "add_tag", tag["name"])
            else:
                member.tags.discard(tag["name"])
        return Reply(204)

    # --- state for the tests -------------------------------------------------------------

    def seed_list(self, name: str) -> str:
        with self.lock:
            audience_id = f"a{self.new_id():09x}"
            self.audiences[audience_id] = Audience(audience_id, name)
            return audience_id

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        with self.lock:
            assert list_id, "Mailchimp tags live in an audience"
            for name in names:
                self.audiences[list_id].tags.setdefault(name, self.new_id())

    def seed_contact(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        lists: dict[str, str] | None = None,
        tags: set[str] | None = None,
    ) -> None:
        # A Mailchimp contact exists per audience: seed it in each list given (tags go
        # on every one of them).
        with self.lock:
            for list_id, status in (lists or {}).items():
                merge = {"FNAME": first_name, "LNAME": last_name}
                member = Member(
                    email=email,
                    status=status,
                    merge_fields={k: v for k, v in merge.items() if v is not None},
                    tags=set(tags or ()),
                )
                self.audiences[list_id].members[member_hash(email)] = member
                for name in tags or ():
                    self.audiences[list_id].tags.setdefault(name, self.new_id())

    def contact(self, email: str) -> ContactView | None:
        with self.lock:
            found = [
                (a.id, a.members[member_hash(email)])
                for a in self.audiences.values()
                if member_hash(email) in a.members
            ]
            if not found:
                return None
            first = found[0][1]
            return ContactView(
                email=first.email,
                first_name=first.merge_fields.get("FNAME"),
                last_name=first.merge_fields.get("LNAME"),
                lists={list_id: m.status for list_id, m in found},
                tags=set().union(*(m.tags for _, m in found)),
            )

    def contacts(self) -> list[ContactView]:
        with self.lock:
            emails = {m.email for a in self.audiences.values() for m in a.members.values()}
        return [c for e in sorted(emails) if (c := self.contact(e)) is not None]
