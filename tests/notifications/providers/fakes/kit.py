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
- rate-limits: 429 with the plain-text body "Retry later" and no `Retry-After`;
- custom fields: unknown keys in `fields` are ignored; the fake account has the
  `last_name` field most accounts keep.
Kit's state is per subscriber: the neutral view gives each form or sequence a
subscriber joined that state (`active` subscribed, `inactive` not subscribed,
`cancelled`/`bounced`/`complained` unsubscribed).
"""

from __future__ import annotations

from typing import Any

from tests.notifications.providers.fakes.base import (
    SUBSCRIBED,
    TRANSACTIONAL,
    UNSUBSCRIBED,
    Call,
    ContactView,
    Reply,
)
from tests.notifications.providers.fakes.routed import RoutedFake, body, query

STATES = {"active", "cancelled", "bounced", "complained", "inactive"}
NEUTRAL = {
    "active": SUBSCRIBED,
    "inactive": TRANSACTIONAL,
    "cancelled": UNSUBSCRIBED,
    "bounced": UNSUBSCRIBED,
    "complained": UNSUBSCRIBED,
}
CUSTOM_FIELDS = {"last_name"}
KINDS = {"form": "forms", "sequence": "sequences"}


def errors(status: int, *texts: str) -> Reply:
    return Reply(status, {"errors": list(texts)})


class KitFake(RoutedFake):
    provider = "kit"
    first_name_key = "first_name"
    last_name_key = "last_name"
    routes = [
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

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[int, str] = {}
        self.subscribers: dict[int, dict[str, Any]] = {}
        self.taggings: set[tuple[int, int]] = set()  # (tag id, subscriber id)
        self.containers: dict[str, dict[int, str]] = {"forms": {}, "sequences": {}}
        self.members: set[tuple[str, int, int]] = set()  # (kind, id, subscriber id)

    # -- the neutral interface of the property and end-to-end tests --
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def refuse(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("x-kit-api-key") != self.api_key:
            return errors(401, "API Key not valid")
        return None

    def rate_limited(self) -> Reply:
        # Kit's body is the plain text "Retry later" (sent here as a JSON string).
        return Reply(429, "Retry later")

    def seed_list(self, name: str) -> str:
        with self.lock:
            return f"form:{self.add_container('forms', name)}"

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        with self.lock:
            for name in names:
                self.add_tag(name)

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
        state = (
            "cancelled"
            if UNSUBSCRIBED in statuses
            else "inactive"
            if statuses - {SUBSCRIBED}
            else "active"
        )
        with self.lock:
            sub = self.add_subscriber(email, state=state, first_name=first_name)
            if last_name:
                sub["fields"]["last_name"] = last_name
            for list_id in lists or {}:
                kind, _, number = list_id.partition(":")
                self.members.add((KINDS[kind], int(number), sub["id"]))
            by_name = {n: i for i, n in self.tags.items()}
            for tag in tags or set():
                tag_id = by_name.get(tag) or self.add_tag(tag)
                self.taggings.add((tag_id, sub["id"]))

    def _view(self, sub: dict[str, Any]) -> ContactView:
        kinds = {v: k for k, v in KINDS.items()}
        return ContactView(
            email=sub["email_address"],
            first_name=sub["first_name"],
            last_name=sub["fields"].get("last_name"),
            lists={
                f"{kinds[kind]}:{item}": NEUTRAL[sub["state"]]
                for kind, item, member in self.members
                if member == sub["id"]
            },
            tags={self.tags[t] for t, member in self.taggings if member == sub["id"]},
        )

    def contact(self, email: str) -> ContactView | None:
        with self.lock:
            sub = self.by_email(email)
            return self._view(sub) if sub else None

    def contacts(self) -> list[ContactView]:
        with self.lock:
            return [self._view(s) for s in self.subscribers.values()]

    # -- state helpers --
    def add_tag(self, name: str) -> int:
        tag_id = self.new_id()
        self.tags[tag_id] = name
        return tag_id

    def add_subscriber(
        self, email: str, *, state: str = "active", first_name: str | None = None
    ) -> dict[str, Any]:
        sub_id = self.new_id()
        self.subscribers[sub_id] = {
            "id": sub_id,
            "email_address": email.strip().lower(),
            "first_name": first_name,
            "state": state,
            "fields": {},
        }
        return self.subscribers[sub_id]

    def add_container(self, kind: str, name: str) -> int:
        item_id = self.new_id()
        self.containers[kind][item_id] = name
        return item_id

    def by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next((s for s in self.subscribers.values() if s["email_address"] == wanted), None)

    def tag_names(self, email: str) -> set[str]:
        sub = self.by_email(email)
        return {self.tags[t] for t, s in self.taggings if sub and s == sub["id"]}

    # -- answers --
    def not_found(self) -> Reply:
        return errors(404, "Not Found")

    def _page(self, call: Call, key: str, items: list[dict[str, Any]]) -> Reply:
        per_page = min(int(query(call, "per_page", "500")), 1000)
        start = int(query(call, "after", "0") or 0)
        more = start + per_page < len(items)
        pagination = {
            "has_previous_page": start > 0,
            "has_next_page": more,
            "start_cursor": str(start),
            "end_cursor": str(start + per_page) if more else None,
            "per_page": per_page,
        }
        return Reply(200, {key: items[start : start + per_page], "pagination": pagination})

    def account(self, call: Call) -> Reply:
        return Reply(200, {"user": {"email": "owner@example.com"}, "account": {"id": 1}})

    def list_tags(self, call: Call) -> Reply:
        return self._page(call, "tags", [{"id": i, "name": n} for i, n in self.tags.items()])

    def create_tag(self, call: Call) -> Reply:
        name = str(body(call).get("name") or "").strip()
        if not name:
            return errors(422, "Name can't be blank")
        for tag_id, existing in self.tags.items():
            if existing.lower() == name.lower():
                return Reply(200, {"tag": {"id": tag_id, "name": existing}})
        return Reply(201, {"tag": {"id": self.add_tag(name), "name": name}})

    def list_subscribers(self, call: Call) -> Reply:
        email = query(call, "email_address").strip().lower()
        status = query(call, "status", "active")
        found = [
            s
            for s in self.subscribers.values()
            if (not email or s["email_address"] == email)
            and (status == "all" or s["state"] == status)
        ]
        return self._page(call, "subscribers", found)

    def create_subscriber(self, call: Call) -> Reply:
        data = body(call)
        email = str(data.get("email_address") or "")
        if "@" not in email:
            return errors(422, "Email address is invalid")
        state = data.get("state", "active")
        if state not in STATES:
            return errors(422, "State is not a valid state")
        fields = {k: v for k, v in (data.get("fields") or {}).items() if k in CUSTOM_FIELDS}
        sub = self.by_email(email)
        if sub is None:
            sub = self.add_subscriber(email, state=state, first_name=data.get("first_name"))
            sub["fields"].update(fields)
            return Reply(201, {"subscriber": sub})
        if "first_name" in data:  # the only thing the upsert changes
            sub["first_name"] = data["first_name"]
        return Reply(200, {"subscriber": sub})

    def tag_subscriber(self, call: Call, tag_id: str) -> Reply:
        sub = self.by_email(str(body(call).get("email_address") or ""))
        if sub is None or int(tag_id) not in self.tags:
            return self.not_found()
        key = (int(tag_id), sub["id"])
        already = key in self.taggings
        self.taggings.add(key)
        self.effect(sub["email_address"], "add_tag", self.tags[int(tag_id)])
        return Reply(200 if already else 201, {"subscriber": sub})

    def untag_subscriber(self, call: Call, tag_id: str) -> Reply:
        sub = self.by_email(str(body(call).get("email_address") or ""))
        if sub is None or int(tag_id) not in self.tags:
            return self.not_found()
        self.taggings.discard((int(tag_id), sub["id"]))
        return Reply(204)

    def subscriber_tags(self, call: Call, sub_id: str) -> Reply:
        if int(sub_id) not in self.subscribers:
            return self.not_found()
        tags = [{"id": t, "name": self.tags[t]} for t, s in self.taggings if s == int(sub_id)]
        return self._page(call, "tags", tags)

    def list_containers(self, call: Call, kind: str) -> Reply:
        return self._page(
            call, kind, [{"id": i, "name": n} for i, n in self.containers[kind].items()]
        )

    def join(self, call: Call, kind: str, item_id: str) -> Reply:
        sub = self.by_email(str(body(call).get("email_address") or ""))
        if sub is None or int(item_id) not in self.containers[kind]:
            return self.not_found()
        sub["state"] = "active"  # joining a form or sequence subscribes
        self.members.add((kind, int(item_id), sub["id"]))
        singular = {v: k for k, v in KINDS.items()}[kind]
        self.effect(sub["email_address"], "add_to_list", f"{singular}:{item_id}")
        return Reply(201, {"subscriber": sub})
