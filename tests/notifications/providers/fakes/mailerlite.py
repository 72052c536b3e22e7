"""MailerLite (connect.mailerlite.com/api) as documented:
- https://developers.mailerlite.com/docs/ (Authentication: `Authorization: Bearer`;
  errors `{"message", "errors": {field: [..]}}`; 401 `{"message": "Unauthenticated."}`;
  rate limit 120/min, 429 with `X-RateLimit-Retry-After`)
- https://developers.mailerlite.com/docs/subscribers.html (fetch by id or email, 404
  when unknown; create/upsert `POST /api/subscribers`: 201 new, 200 existing,
  non-destructive for groups and fields, `status` when sent sets the status)
- https://developers.mailerlite.com/docs/groups.html (list with `limit`/`page`,
  `meta.last_page`; assign `POST /api/subscribers/{id}/groups/{group_id}` 200,
  unassign `DELETE` 204)
and the response bodies recorded in the official SDK's test cassettes (mailerlite-python).
MailerLite's subscription status is per subscriber (not per group): the neutral view
gives every group of a subscriber that status.
"""

from __future__ import annotations

import re
from typing import Any

from tests.notifications.providers.fakes.base import (
    PENDING,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Call,
    ContactView,
    Reply,
)
from tests.notifications.providers.fakes.routed import RoutedFake, body, query

STATUSES = {"active", "unsubscribed", "unconfirmed", "bounced", "junk"}
NEUTRAL = {
    "active": SUBSCRIBED,
    "unconfirmed": PENDING,
    "unsubscribed": UNSUBSCRIBED,
    "bounced": UNSUBSCRIBED,
    "junk": UNSUBSCRIBED,
}
SUBSCRIBER_KEYS = {
    "email",
    "fields",
    "groups",
    "status",
    "subscribed_at",
    "ip_address",
    "opted_in_at",
    "optin_ip",
    "unsubscribed_at",
}  # fmt: skip  (the SDK's `subscribers.create` arguments)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class MailerLiteFake(RoutedFake):
    provider = "mailerlite"
    first_name_key = "name"
    last_name_key = "last_name"
    routes = [
        ("GET", r"/api/groups", "list_groups"),
        ("GET", r"/api/subscribers/([^/]+)", "get_subscriber"),
        ("POST", r"/api/subscribers", "upsert_subscriber"),
        ("POST", r"/api/subscribers/(\d+)/groups/(\d+)", "assign"),
        ("DELETE", r"/api/subscribers/(\d+)/groups/(\d+)", "unassign"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[str, str] = {}  # id → name
        self.subscribers: dict[str, dict[str, Any]] = {}  # id → subscriber

    # -- the neutral interface of the property and end-to-end tests --
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def refuse(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"message": "Unauthenticated."})
        return None

    def rate_limited(self) -> Reply:
        return Reply(
            429,
            {"message": "Too Many Attempts."},
            {
                "Retry-After": "30",
                "X-RateLimit-Limit": "120",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Retry-After": "30",
            },
        )

    def seed_list(self, name: str) -> str:
        with self.lock:
            return self.add_group(name)

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        raise AssertionError("MailerLite has no contact tags")

    def seed_contact(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        lists: dict[str, str] | None = None,
        tags: set[str] | None = None,
    ) -> None:
        statuses = set((lists or {}).values())
        status = (
            "unsubscribed"
            if UNSUBSCRIBED in statuses
            else "unconfirmed"
            if PENDING in statuses
            else "active"
        )
        with self.lock:
            sub = self.add_subscriber(email, status=status, groups=tuple(lists or {}))
            sub["fields"].update({"name": first_name, "last_name": last_name})

    def _view(self, sub: dict[str, Any]) -> ContactView:
        return ContactView(
            email=sub["email"],
            first_name=sub["fields"].get("name"),
            last_name=sub["fields"].get("last_name"),
            lists={g: NEUTRAL[sub["status"]] for g in sub["groups"]},
            tags=set(),
        )

    def contact(self, email: str) -> ContactView | None:
        with self.lock:
            sub = self.by_email(email)
            return self._view(sub) if sub else None

    def contacts(self) -> list[ContactView]:
        with self.lock:
            return [self._view(s) for s in self.subscribers.values()]

    # -- state helpers --
    def add_group(self, name: str) -> str:
        group_id = str(165968862226941797 + self.new_id())
        self.groups[group_id] = name
        return group_id

    def add_subscriber(
        self, email: str, *, status: str = "active", groups: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        sub_id = str(165968862226941797 + self.new_id())
        self.subscribers[sub_id] = {
            "id": sub_id,
            "email": email.strip().lower(),
            "status": status,
            "fields": {"name": None, "last_name": None},
            "groups": list(groups),
        }
        return self.subscribers[sub_id]

    def by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next((s for s in self.subscribers.values() if s["email"] == wanted), None)

    def _out(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {
            **sub,
            "groups": [{"id": g, "name": self.groups.get(g, "")} for g in sub["groups"]],
        }

    # -- answers --
    def not_found(self) -> Reply:
        return Reply(404, {"message": "Resource not found."})

    def list_groups(self, call: Call) -> Reply:
        limit = int(query(call, "limit", "50"))
        page = int(query(call, "page", "1"))
        items = [{"id": i, "name": n} for i, n in self.groups.items()]
        last_page = max(1, -(-len(items) // limit))
        meta = {"current_page": page, "last_page": last_page, "per_page": limit}
        return Reply(
            200,
            {
                "data": items[(page - 1) * limit : page * limit],
                "links": {},
                "meta": {**meta, "total": len(items)},
            },
        )

    def get_subscriber(self, call: Call, key: str) -> Reply:
        sub = self.subscribers.get(key) or self.by_email(key)
        return Reply(200, {"data": self._out(sub)}) if sub else self.not_found()

    def upsert_subscriber(self, call: Call) -> Reply:
        data = body(call)
        email = str(data.get("email") or "")
        errors: dict[str, list[str]] = {}
        if unknown := sorted(set(data) - SUBSCRIBER_KEYS):
            errors[unknown[0]] = [f"The {unknown[0]} field is prohibited."]
        if not EMAIL.fullmatch(email):
            errors["email"] = ["The email must be a valid email address."]
        if "status" in data and data["status"] not in STATUSES:
            errors["status"] = ["The selected status is invalid."]
        groups = [str(g) for g in data.get("groups") or []]
        if any(g not in self.groups for g in groups):
            errors["groups"] = ["The selected groups is invalid."]
        if errors:
            return Reply(422, {"message": "The given data was invalid.", "errors": errors})
        sub = self.by_email(email)
        created = sub is None
        if sub is None:
            sub = self.add_subscriber(email, status=str(data.get("status") or "active"))
        elif "status" in data:  # documented: the status sent is the status set
            sub["status"] = data["status"]
        sub["fields"].update(data.get("fields") or {})
        for group in groups:
            if group not in sub["groups"]:
                sub["groups"].append(group)
            self.effect(email, "add_to_list", group)
        return Reply(201 if created else 200, {"data": self._out(sub)})

    def assign(self, call: Call, sub_id: str, group_id: str) -> Reply:
        sub = self.subscribers.get(sub_id)
        if sub is None or group_id not in self.groups:
            return self.not_found()
        if group_id not in sub["groups"]:
            sub["groups"].append(group_id)
        self.effect(sub["email"], "add_to_list", group_id)
        return Reply(200, {"data": {"id": group_id, "name": self.groups[group_id]}})

    def unassign(self, call: Call, sub_id: str, group_id: str) -> Reply:
        sub = self.subscribers.get(sub_id)
        if sub is None or group_id not in self.groups:
            return self.not_found()
        if group_id in sub["groups"]:
            sub["groups"].remove(group_id)
        return Reply(204)
