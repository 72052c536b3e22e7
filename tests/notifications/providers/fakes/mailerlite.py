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
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.notifications.http_server import Answer, Recorded, json_answer
from tests.notifications.providers.fakes import ProviderFake, body, query

STATUSES = {"active", "unsubscribed", "unconfirmed", "bounced", "junk"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class MailerLiteFake(ProviderFake):
    routes_spec = [
        ("GET", r"/api/groups", "list_groups"),
        ("GET", r"/api/subscribers/([^/]+)", "get_subscriber"),
        ("POST", r"/api/subscribers", "upsert_subscriber"),
        ("POST", r"/api/subscribers/(\d+)/groups/(\d+)", "assign"),
        ("DELETE", r"/api/subscribers/(\d+)/groups/(\d+)", "unassign"),
    ]

    def __init__(self, api_key: str = "") -> None:
        super().__init__()
        self.api_key = api_key
        self.groups: dict[str, str] = {}  # id → name
        self.subscribers: dict[str, dict[str, Any]] = {}  # id → subscriber
        self._ids = itertools.count(165968862226941797)

    # -- state helpers for tests --
    def add_group(self, name: str) -> str:
        group_id = str(next(self._ids))
        self.groups[group_id] = name
        return group_id

    def add_subscriber(self, email: str, *, status: str = "active", groups: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
        sub_id = str(next(self._ids))
        self.subscribers[sub_id] = {
            "id": sub_id,
            "email": email.lower(),
            "status": status,
            "fields": {"name": None, "last_name": None},
            "groups": list(groups),
        }
        return self.subscribers[sub_id]

    def by_email(self, email: str) -> dict[str, Any] | None:
        return next(
            (s for s in self.subscribers.values() if s["email"] == email.strip().lower()), None
        )

    def _out(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {
            **sub,
            "groups": [{"id": g, "name": self.groups.get(g, "")} for g in sub["groups"]],
        }

    def authenticate(self, recorded: Recorded) -> Answer | None:
        if recorded.headers.get("authorization") != f"Bearer {self.api_key}":
            return json_answer(401, {"message": "Unauthenticated."})
        return None

    def not_found(self) -> Answer:
        return json_answer(404, {"message": "Resource not found."})

    def list_groups(self, recorded: Recorded) -> Answer:
        limit = int(query(recorded, "limit", "50"))
        page = int(query(recorded, "page", "1"))
        items = [{"id": i, "name": n} for i, n in self.groups.items()]
        last_page = max(1, -(-len(items) // limit))
        chunk = items[(page - 1) * limit : page * limit]
        return json_answer(
            200,
            {
                "data": chunk,
                "links": {},
                "meta": {
                    "current_page": page,
                    "last_page": last_page,
                    "per_page": limit,
                    "total": len(items),
                },
            },
        )

    def get_subscriber(self, recorded: Recorded, key: str) -> Answer:
        sub = self.subscribers.get(key) or self.by_email(key)
        if sub is None:
            return self.not_found()
        return json_answer(200, {"data": self._out(sub)})

    def upsert_subscriber(self, recorded: Recorded) -> Answer:
        data = body(recorded) or {}
        email = str(data.get("email") or "")
        errors: dict[str, list[str]] = {}
        if not EMAIL.fullmatch(email):
            errors["email"] = ["The email must be a valid email address."]
        if "status" in data and data["status"] not in STATUSES:
            errors["status"] = ["The selected status is invalid."]
        groups = [str(g) for g in data.get("groups") or []]
        if any(g not in self.groups for g in groups):
            errors["groups"] = ["The selected groups is invalid."]
        if errors:
            return json_answer(422, {"message": "The given data was invalid.", "errors": errors})
        sub = self.by_email(email)
        created = sub is None
        if sub is None:
            sub = self.add_subscriber(email, status=str(data.get("status") or "active"))
        elif "status" in data:
            sub["status"] = data["status"]
        sub["fields"].update(data.get("fields") or {})
        sub["groups"] += [g for g in groups if g not in sub["groups"]]
        return json_answer(201 if created else 200, {"data": self._out(sub)})

    def assign(self, recorded: Recorded, sub_id: str, group_id: str) -> Answer:
        sub = self.subscribers.get(sub_id)
        if sub is None or group_id not in self.groups:
            return self.not_found()
        if group_id not in sub["groups"]:
            sub["groups"].append(group_id)
        return json_answer(200, {"data": {"id": group_id, "name": self.groups[group_id]}})

    def unassign(self, recorded: Recorded, sub_id: str, group_id: str) -> Answer:
        sub = self.subscribers.get(sub_id)
        if sub is None or group_id not in self.groups:
            return self.not_found()
        if group_id in sub["groups"]:
            sub["groups"].remove(group_id)
        return Answer(status=204)
