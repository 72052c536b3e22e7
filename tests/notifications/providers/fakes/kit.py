"""Kit API v4 (api.kit.com/v4) as documented at https://developers.kit.com/api-reference:
- authentication: `X-Kit-Api-Key` header (401 `{"errors": ["…"]}` otherwise);
  `GET /v4/account`;
- subscribers/create-a-subscriber: upsert by `email_address`; a new one gets
  `first_name` and `state` (default active); an existing one gets its first name updated
  and never its state; subscribers/list-subscribers: `email_address` filter, `status`
  defaults to `active` (`all` for any state);
- tags/list-tags (cursor pagination: `per_page` ≤ 1000, `after`, `pagination.
  has_next_page`/`end_cursor`), tags/create-a-tag (200 when the name exists),
  tags/tag-a-subscriber-by-email-address ("the subscriber being tagged must already
  exist": 404 otherwise; 200 when already tagged, 201 when tagged now),
  tags/remove-tag-from-subscriber-by-email-address (204), subscribers/list-tags-for-a-
  subscriber;
- forms/list-forms, sequences/list-sequences, forms/add-subscriber-to-form-by-email-
  address, sequences/add-subscriber-to-sequence-by-email-address (existing subscribers
  only). Joining a form or sequence is a subscription: the fake makes the subscriber
  active, which is why the adapter never adds an opted-out one;
- rate-limits: 429 with the plain-text body "Retry later" and no `Retry-After`.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.notifications.http_server import Answer, Recorded, json_answer
from tests.notifications.providers.fakes import ProviderFake, body, query

STATES = {"active", "cancelled", "bounced", "complained", "inactive"}


class KitFake(ProviderFake):
    routes_spec = [
        ("GET", r"/v4/account", "account"),
        ("GET", r"/v4/tags", "list_tags"),
        ("POST", r"/v4/tags", "create_tag"),
        ("POST", r"/v4/tags/(\d+)/subscribers", "tag_subscriber"),
        ("DELETE", r"/v4/tags/(\d+)/subscribers", "untag_subscriber"),
        ("GET", r"/v4/subscribers", "list_subscribers"),
        ("POST", r"/v4/subscribers", "create_subscriber"),
        ("GET", r"/v4/subscribers/(\d+)/tags", "subscriber_tags"),
        ("GET", r"/v4/(forms|sequences)", "list_containers"),
        ("POST", r"/v4/(forms|sequences)/(\d+)/subscribers", "join"),
    ]

    def __init__(self, api_key: str = "") -> None:
        super().__init__()
        self.api_key = api_key
        self.tags: dict[int, str] = {}
        self.subscribers: dict[int, dict[str, Any]] = {}
        self.taggings: set[tuple[int, int]] = set()  # (tag id, subscriber id)
        self.containers: dict[str, dict[int, str]] = {"forms": {}, "sequences": {}}
        self.members: set[tuple[str, int, int]] = set()  # (kind, id, subscriber id)
        self._ids = itertools.count(1001)

    def add_tag(self, name: str) -> int:
        tag_id = next(self._ids)
        self.tags[tag_id] = name
        return tag_id

    def add_subscriber(
        self, email: str, *, state: str = "active", first_name: str | None = None
    ) -> dict[str, Any]:
        sub_id = next(self._ids)
        self.subscribers[sub_id] = {
            "id": sub_id,
            "email_address": email.strip().lower(),
            "first_name": first_name,
            "state": state,
            "fields": {},
        }
        return self.subscribers[sub_id]

    def add_container(self, kind: str, name: str) -> int:
        item_id = next(self._ids)
        self.containers[kind][item_id] = name
        return item_id

    def by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next((s for s in self.subscribers.values() if s["email_address"] == wanted), None)

    def tag_names(self, email: str) -> set[str]:
        sub = self.by_email(email)
        if sub is None:
            return set()
        return {self.tags[t] for t, s in self.taggings if s == sub["id"]}

    def authenticate(self, recorded: Recorded) -> Answer | None:
        if recorded.headers.get("x-kit-api-key") != self.api_key:
            return json_answer(401, {"errors": ["API Key not valid"]})
        return None

    def not_found(self) -> Answer:
        return json_answer(404, {"errors": ["Not Found"]})

    def _page(self, recorded: Recorded, key: str, items: list[dict[str, Any]]) -> Answer:
        per_page = min(int(query(recorded, "per_page", "500")), 1000)
        start = int(query(recorded, "after", "0") or 0)
        chunk = items[start : start + per_page]
        more = start + per_page < len(items)
        return json_answer(
            200,
            {
                key: chunk,
                "pagination": {
                    "has_previous_page": start > 0,
                    "has_next_page": more,
                    "start_cursor": str(start),
                    "end_cursor": str(start + per_page) if more else None,
                    "per_page": per_page,
                },
            },
        )

    def account(self, recorded: Recorded) -> Answer:
        return json_answer(200, {"user": {"email": "owner@example.com"}, "account": {"id": 1}})

    def list_tags(self, recorded: Recorded) -> Answer:
        return self._page(recorded, "tags", [{"id": i, "name": n} for i, n in self.tags.items()])

    def create_tag(self, recorded: Recorded) -> Answer:
        name = str((body(recorded) or {}).get("name") or "").strip()
        if not name:
            return json_answer(422, {"errors": ["Name can't be blank"]})
        for tag_id, existing in self.tags.items():
            if existing.lower() == name.lower():
                return json_answer(200, {"tag": {"id": tag_id, "name": existing}})
        tag_id = self.add_tag(name)
        return json_answer(201, {"tag": {"id": tag_id, "name": name}})

    def list_subscribers(self, recorded: Recorded) -> Answer:
        email = query(recorded, "email_address").strip().lower()
        status = query(recorded, "status", "active")
        found = [
            s
            for s in self.subscribers.values()
            if (not email or s["email_address"] == email)
            and (status == "all" or s["state"] == status)
        ]
        return self._page(recorded, "subscribers", found)

    def create_subscriber(self, recorded: Recorded) -> Answer:
        data = body(recorded) or {}
        email = str(data.get("email_address") or "")
        if "@" not in email:
            return json_answer(422, {"errors": ["Email address is invalid"]})
        state = data.get("state", "active")
        if state not in STATES:
            return json_answer(422, {"errors": ["State is not a valid state"]})
        sub = self.by_email(email)
        if sub is None:
            sub = self.add_subscriber(email, state=state, first_name=data.get("first_name"))
            sub["fields"].update(data.get("fields") or {})
            return json_answer(201, {"subscriber": sub})
        if "first_name" in data:  # the only thing an upsert changes
            sub["first_name"] = data["first_name"]
        return json_answer(200, {"subscriber": sub})

    def tag_subscriber(self, recorded: Recorded, tag_id: str) -> Answer:
        sub = self.by_email(str((body(recorded) or {}).get("email_address") or ""))
        if sub is None or int(tag_id) not in self.tags:
            return self.not_found()
        key = (int(tag_id), sub["id"])
        already = key in self.taggings
        self.taggings.add(key)
        return json_answer(200 if already else 201, {"subscriber": sub})

    def untag_subscriber(self, recorded: Recorded, tag_id: str) -> Answer:
        sub = self.by_email(str((body(recorded) or {}).get("email_address") or ""))
        if sub is None or int(tag_id) not in self.tags:
            return self.not_found()
        self.taggings.discard((int(tag_id), sub["id"]))
        return Answer(status=204)

    def subscriber_tags(self, recorded: Recorded, sub_id: str) -> Answer:
        if int(sub_id) not in self.subscribers:
            return self.not_found()
        tags = [{"id": t, "name": self.tags[t]} for t, s in self.taggings if s == int(sub_id)]
        return self._page(recorded, "tags", tags)

    def list_containers(self, recorded: Recorded, kind: str) -> Answer:
        items = [{"id": i, "name": n} for i, n in self.containers[kind].items()]
        return self._page(recorded, kind, items)

    def join(self, recorded: Recorded, kind: str, item_id: str) -> Answer:
        sub = self.by_email(str((body(recorded) or {}).get("email_address") or ""))
        if sub is None or int(item_id) not in self.containers[kind]:
            return self.not_found()
        sub["state"] = "active"
        self.members.add((kind, int(item_id), sub["id"]))
        return json_answer(201, {"subscriber": sub})
