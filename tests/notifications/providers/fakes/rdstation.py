"""RD Station Marketing API 2.0 (api.rd.services) as documented at
https://developers.rdstation.com/reference:
- autenticacao (steps 2-4): `/auth/dialog?client_id&redirect_uri&state` sends the code
  back; `POST /auth/token` with `{client_id, client_secret, code}` or
  `{client_id, client_secret, refresh_token}` answers `{access_token, expires_in: 86400,
  refresh_token}`; a used or revoked refresh token is refused (401); requests carry
  `Authorization: Bearer`, an invalid or expired token answers 401
  `{"errors": {"error_type": "UNAUTHORIZED", …}}`;
- account info: `GET /marketing/account_info`;
- contatos: `GET /platform/contacts/email:{email}` (404 `RESOURCE_NOT_FOUND`),
  `POST /platform/contacts` (400 `EMAIL_ALREADY_IN_USE` for an existing email),
  `PATCH /platform/contacts/email:{email}` (an upsert: creates a missing contact; the
  tag list sent replaces the contact's), `POST /platform/contacts/email:{email}/tag`
  (adds tags to an existing contact, 404 otherwise);
- evento-de-conversao-padrao: `POST /platform/events?event_type=conversion` with
  `{event_type: "CONVERSION", event_family: "CDP", payload: {conversion_identifier,
  email, name?, legal_bases?}}`: records the conversion, creating the contact when new;
  `legal_bases` sent for an existing contact replaces its consent;
- bases legais (LGPD): consent for communications is `granted` or `declined`;
- limite-de-requisicoes-da-api: 120 requests per minute per account (429 past it).
RD Station has no lists: the neutral view gives each conversion a contact made the
contact's communications consent (granted: subscribed, declined: unsubscribed, none:
transactional).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from tests.notifications.providers.fakes.base import (
    SUBSCRIBED,
    TRANSACTIONAL,
    UNSUBSCRIBED,
    Call,
    ContactView,
    Reply,
)
from tests.notifications.providers.fakes.routed import RoutedFake, body

NEUTRAL = {"granted": SUBSCRIBED, "declined": UNSUBSCRIBED, None: TRANSACTIONAL}
CONTACT_KEYS = {
    "email",
    "name",
    "bio",
    "website",
    "job_title",
    "personal_phone",
    "mobile_phone",
    "city",
    "state",
    "country",
    "twitter",
    "facebook",
    "linkedin",
    "tags",
    "extra_emails",
    "legal_bases",
}  # fmt: skip  (the contact fields of the reference; custom fields are cf_*)


def error(status: int, error_type: str, message: str) -> Reply:
    return Reply(status, {"errors": {"error_type": error_type, "error_message": message}})


class RDStationFake(RoutedFake):
    provider = "rdstation"
    first_name_key = "name"  # RD keeps one name: "Ana Souza"
    last_name_key = "last_name"  # no such key at RD: a last name goes inside `name`
    routes = [
        ("POST", r"/auth/token", "token"),
        ("GET", r"/marketing/account_info", "account_info"),
        ("GET", r"/platform/contacts/email:(.+)", "get_contact"),
        ("POST", r"/platform/contacts", "create_contact"),
        ("PATCH", r"/platform/contacts/email:([^/]+)", "patch_contact"),
        ("POST", r"/platform/contacts/email:(.+)/tag", "tag_contact"),
        ("POST", r"/platform/events", "event"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # A fresh app per fake: the rate-limit budget is per app, so tests never share one.
        self.client_id = f"app-{secrets.token_hex(6)}"
        self.client_secret = f"app-secret-{secrets.token_hex(4)}"
        self.codes: set[str] = set()
        self.access_tokens: dict[str, float] = {}  # token → expiry (epoch)
        self.refresh_token = ""
        self.people: dict[str, dict[str, Any]] = {}  # email → contact
        self.conversions: list[dict[str, Any]] = []
        self.renewals = 0
        self.known_conversions: dict[str, str] = {}  # identifier → seeded name

    # -- the neutral interface of the property and end-to-end tests --
    def credentials(self) -> dict[str, str]:
        tokens = self.issue()
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_at": str(int(time.time() + 86400)),
        }

    def refuse(self, headers: dict[str, str]) -> Reply | None:
        path = self.calls[-1].path
        if path.startswith("/auth/"):
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expiry = self.access_tokens.get(token)
        if scheme != "Bearer" or expiry is None:
            return error(401, "UNAUTHORIZED", "Invalid token.")
        if expiry < time.time():
            return error(401, "EXPIRED_CODE_GRANT", "The access token expired.")
        return None

    def rate_limited(self) -> Reply:
        return error(429, "TOO_MANY_REQUESTS", "API rate limit exceeded.")

    def seed_list(self, name: str) -> str:
        identifier = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.known_conversions[identifier] = name
        return identifier

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        return  # RD Station creates a tag when a contact first gets it

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
        consent = (
            "declined"
            if UNSUBSCRIBED in statuses
            else None
            if statuses - {SUBSCRIBED}
            else "granted"
        )
        with self.lock:
            person = self.add_contact(email, consent=consent, tags=tuple(tags or ()))
            person["name"] = " ".join(p for p in (first_name, last_name) if p) or None
            for identifier in lists or {}:
                self.conversions.append({"email": person["email"], "identifier": identifier})

    def _view(self, person: dict[str, Any]) -> ContactView:
        first, _, last = (person["name"] or "").partition(" ")
        return ContactView(
            email=person["email"],
            first_name=first or None,
            last_name=last or None,
            lists={
                c["identifier"]: NEUTRAL[self.consent(person["email"])]
                for c in self.conversions
                if c["email"] == person["email"]
            },
            tags=set(person["tags"]),
        )

    def contact(self, email: str) -> ContactView | None:
        with self.lock:
            person = self.people.get(email.strip().lower())
            return self._view(person) if person else None

    def contacts(self) -> list[ContactView]:
        with self.lock:
            return [self._view(p) for p in self.people.values()]

    # -- state helpers --
    def issue(self, *, expires_in: float = 86400) -> dict[str, Any]:
        access = secrets.token_hex(8)
        self.access_tokens[access] = time.time() + expires_in
        self.refresh_token = secrets.token_hex(8)
        return {
            "access_token": access,
            "refresh_token": self.refresh_token,
            "expires_in": expires_in,
        }

    def add_contact(
        self, email: str, *, consent: str | None = "granted", tags: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        person: dict[str, Any] = {
            "uuid": secrets.token_hex(8),
            "email": email.strip().lower(),
            "name": None,
            "tags": [t.lower() for t in tags],
            "legal_bases": (
                [{"category": "communications", "type": "consent", "status": consent}]
                if consent
                else []
            ),
        }
        self.people[person["email"]] = person
        return person

    def consent(self, email: str) -> str | None:
        person = self.people.get(email.strip().lower())
        statuses = [
            b["status"]
            for b in (person or {}).get("legal_bases", [])
            if b.get("category") == "communications"
        ]
        return statuses[-1] if statuses else None

    # -- answers --
    def not_found(self) -> Reply:
        return error(404, "RESOURCE_NOT_FOUND", "Lead not found.")

    def token(self, call: Call) -> Reply:
        data = body(call)
        if (data.get("client_id"), data.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return error(401, "ACCESS_DENIED", "Wrong credentials provided.")
        if "code" in data:
            if data["code"] not in self.codes:
                return error(401, "INVALID_CODE", "The code is invalid or was used.")
            self.codes.discard(data["code"])
            return Reply(200, self.issue())
        if data.get("refresh_token") and data["refresh_token"] == self.refresh_token:
            self.renewals += 1
            return Reply(200, self.issue())
        return error(401, "INVALID_REFRESH_TOKEN", "The refresh token is invalid or was revoked.")

    def account_info(self, call: Call) -> Reply:
        return Reply(200, {"name": "Creator account"})

    def get_contact(self, call: Call, email: str) -> Reply:
        person = self.people.get(email.strip().lower())
        return Reply(200, person) if person else self.not_found()

    def _apply(self, person: dict[str, Any], data: dict[str, Any]) -> Reply | None:
        if unknown := sorted(k for k in set(data) - CONTACT_KEYS if not k.startswith("cf_")):
            return error(400, "INVALID_FIELDS", f"{unknown[0]} is not a valid field")
        if "name" in data:
            person["name"] = data["name"]
        if "legal_bases" in data:  # replaces the consent
            person["legal_bases"] = list(data["legal_bases"])
        return None

    def create_contact(self, call: Call) -> Reply:
        data = body(call)
        email = str(data.get("email") or "").strip().lower()
        if "@" not in email:
            return error(400, "INVALID_FORMAT", "email is invalid")
        if email in self.people:
            return error(400, "EMAIL_ALREADY_IN_USE", "Email already in use.")
        person = self.add_contact(
            email, consent=None, tags=tuple(str(t) for t in data.get("tags") or [])
        )
        if refused := self._apply(person, data):
            del self.people[email]
            return refused
        for tag in person["tags"]:
            self.effect(email, "add_tag", tag)
        return Reply(200, person)

    def patch_contact(self, call: Call, email: str) -> Reply:
        data = body(call)
        person = self.people.get(email.strip().lower()) or self.add_contact(email, consent=None)
        if refused := self._apply(person, data):
            return refused
        if "tags" in data:  # the tag list sent replaces the contact's
            person["tags"] = [str(t).lower() for t in data["tags"]]
        return Reply(200, person)

    def tag_contact(self, call: Call, email: str) -> Reply:
        person = self.people.get(email.strip().lower())
        if person is None:
            return self.not_found()
        for tag in body(call).get("tags") or []:
            if str(tag).lower() not in person["tags"]:
                person["tags"].append(str(tag).lower())
            self.effect(person["email"], "add_tag", str(tag).lower())
        return Reply(200, {"tags": person["tags"]})

    def event(self, call: Call) -> Reply:
        data = body(call)
        payload = data.get("payload") or {}
        if data.get("event_type") != "CONVERSION" or not payload.get("conversion_identifier"):
            return error(400, "INVALID_FIELDS", "conversion_identifier is required")
        email = str(payload.get("email") or "").strip().lower()
        if "@" not in email:
            return error(400, "INVALID_FORMAT", "email is invalid")
        person = self.people.get(email) or self.add_contact(email, consent=None)
        fields = {k: v for k, v in payload.items() if k not in ("conversion_identifier", "email")}
        if refused := self._apply(person, fields):
            return refused
        identifier = str(payload["conversion_identifier"])
        self.conversions.append({"email": email, "identifier": identifier})
        self.effect(email, "add_to_list", identifier)
        return Reply(200, {"event_uuid": secrets.token_hex(8)})
