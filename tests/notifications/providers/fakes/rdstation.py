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
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from tests.notifications.http_server import Answer, Recorded, json_answer
from tests.notifications.providers.fakes import ProviderFake, body


def _error(status: int, error_type: str, message: str) -> Answer:
    return json_answer(status, {"errors": {"error_type": error_type, "error_message": message}})


class RDStationFake(ProviderFake):
    routes_spec = [
        ("POST", r"/auth/token", "token"),
        ("GET", r"/marketing/account_info", "account_info"),
        ("GET", r"/platform/contacts/email:(.+)", "get_contact"),
        ("POST", r"/platform/contacts", "create_contact"),
        ("PATCH", r"/platform/contacts/email:(.+)", "patch_contact"),
        ("POST", r"/platform/contacts/email:(.+)/tag", "tag_contact"),
        ("POST", r"/platform/events", "event"),
    ]

    def __init__(self, client_id: str = "app-id", client_secret: str = "app-secret") -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.codes: set[str] = set()
        self.access_tokens: dict[str, float] = {}  # token → expiry (epoch)
        self.refresh_token = ""
        self.contacts: dict[str, dict[str, Any]] = {}  # email → contact
        self.conversions: list[dict[str, Any]] = []
        self.renewals = 0

    # -- state helpers for tests --
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
        contact = {
            "uuid": secrets.token_hex(8),
            "email": email.strip().lower(),
            "name": None,
            "tags": list(tags),
            "legal_bases": [{"category": "communications", "type": "consent", "status": consent}]
            if consent
            else [],
        }
        self.contacts[contact["email"]] = contact
        return contact

    def consent(self, email: str) -> str | None:
        contact = self.contacts.get(email.strip().lower())
        if contact is None:
            return None
        statuses = [
            b["status"] for b in contact["legal_bases"] if b["category"] == "communications"
        ]
        return statuses[-1] if statuses else None

    def authenticate(self, recorded: Recorded) -> Answer | None:
        if recorded.path.startswith("/auth/"):
            return None
        scheme, _, token = recorded.headers.get("authorization", "").partition(" ")
        expiry = self.access_tokens.get(token)
        if scheme != "Bearer" or expiry is None:
            return _error(401, "UNAUTHORIZED", "Invalid token.")
        if expiry < time.time():
            return _error(401, "EXPIRED_CODE_GRANT", "The access token expired.")
        return None

    def not_found(self) -> Answer:
        return _error(404, "RESOURCE_NOT_FOUND", "Lead not found.")

    def token(self, recorded: Recorded) -> Answer:
        data = body(recorded) or {}
        if (
            data.get("client_id") != self.client_id
            or data.get("client_secret") != self.client_secret
        ):
            return _error(401, "ACCESS_DENIED", "Wrong credentials provided.")
        if "code" in data:
            if data["code"] not in self.codes:
                return _error(401, "INVALID_CODE", "The code is invalid or was used.")
            self.codes.discard(data["code"])
            return json_answer(200, self.issue())
        if data.get("refresh_token") and data["refresh_token"] == self.refresh_token:
            self.renewals += 1
            return json_answer(200, self.issue())
        return _error(401, "INVALID_REFRESH_TOKEN", "The refresh token is invalid or was revoked.")

    def account_info(self, recorded: Recorded) -> Answer:
        return json_answer(200, {"name": "Creator account"})

    def get_contact(self, recorded: Recorded, email: str) -> Answer:
        contact = self.contacts.get(email.strip().lower())
        return json_answer(200, contact) if contact else self.not_found()

    def _apply(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        if "name" in data:
            contact["name"] = data["name"]
        if "legal_bases" in data:
            contact["legal_bases"] = list(data["legal_bases"])

    def create_contact(self, recorded: Recorded) -> Answer:
        data = body(recorded) or {}
        email = str(data.get("email") or "").strip().lower()
        if "@" not in email:
            return _error(400, "INVALID_FORMAT", "email is invalid")
        if email in self.contacts:
            return _error(400, "EMAIL_ALREADY_IN_USE", "Email already in use.")
        contact = self.add_contact(
            email, consent=None, tags=tuple(str(t).lower() for t in data.get("tags") or [])
        )
        self._apply(contact, data)
        return json_answer(200, contact)

    def patch_contact(self, recorded: Recorded, email: str) -> Answer:
        data = body(recorded) or {}
        contact = self.contacts.get(email.strip().lower()) or self.add_contact(email, consent=None)
        if "tags" in data:
            contact["tags"] = [str(t).lower() for t in data["tags"]]
        self._apply(contact, data)
        return json_answer(200, contact)

    def tag_contact(self, recorded: Recorded, email: str) -> Answer:
        contact = self.contacts.get(email.strip().lower())
        if contact is None:
            return self.not_found()
        for tag in (body(recorded) or {}).get("tags") or []:
            if str(tag).lower() not in contact["tags"]:
                contact["tags"].append(str(tag).lower())
        return json_answer(200, {"tags": contact["tags"]})

    def event(self, recorded: Recorded) -> Answer:
        data = body(recorded) or {}
        payload = data.get("payload") or {}
        if data.get("event_type") != "CONVERSION" or not payload.get("conversion_identifier"):
            return _error(400, "INVALID_FIELDS", "conversion_identifier is required")
        email = str(payload.get("email") or "").strip().lower()
        if "@" not in email:
            return _error(400, "INVALID_FORMAT", "email is invalid")
        contact = self.contacts.get(email) or self.add_contact(email, consent=None)
        self._apply(contact, payload)
        self.conversions.append({"email": email, "identifier": payload["conversion_identifier"]})
        return json_answer(200, {"event_uuid": secrets.token_hex(8)})
