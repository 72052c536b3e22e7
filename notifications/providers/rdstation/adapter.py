"""RD Station Marketing adapter (API 2.0, `https://api.rd.services`), OAuth2.

Documented behaviour this follows (developers.rdstation.com/reference):
- authentication is OAuth2 with the creator's own app (RD Station App Store →
  `client_id`, `client_secret`): the browser goes to `/auth/dialog?client_id=&
  redirect_uri=&state=`, comes back to our callback with `code`, and `POST /auth/token`
  `{client_id, client_secret, code}` answers `{access_token, expires_in, refresh_token}`;
  the same endpoint with `{client_id, client_secret, refresh_token}` renews the access
  token (24 h); requests carry `Authorization: Bearer <access_token>`;
- `GET /marketing/account_info` reads the account (our credential check);
- `GET /platform/contacts/email:{email}` reads a contact (404 `RESOURCE_NOT_FOUND`),
  `POST /platform/contacts` creates one, `POST /platform/contacts/email:{email}/tag`
  `{"tags": [...]}` adds tags to an existing contact without touching the others (RD
  creates a tag on first use), `PATCH /platform/contacts/email:{email}` updates one
  (limited to 24 a day per contact, so we use it only to remove a tag);
- `POST /platform/events?event_type=conversion` records a conversion event
  (`conversion_identifier`, the contact's email and name; creates the contact when it
  is new); consent is LGPD legal bases (`legal_bases`: communications, consent,
  granted), sent only for a contact that does not exist yet;
- errors are `{"errors": {"error_type", "error_message"}}` (or a list of them); an
  account may send 120 requests per minute (429 past it).

RD Station has no lists: our "lists" are conversion events (see CONVERSIONS and
docs/notifications.md). Adding to one records the conversion; a conversion cannot be
undone, so `remove_from_list` is refused with a permanent error that says to use a tag.
RD has no call that lists an account's tags: `tags()` offers none and a tag is created
when first used.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from notifications.providers import register
from notifications.providers.base import (
    SUBSCRIBED,
    TRANSACTIONAL,
    Contact,
    CredentialsInvalid,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
)
from notifications.providers.http import MESSAGE_LIMIT, ProviderClient, redact
from notifications.providers.oauth import OAuthProvider
from notifications.providers.ratelimit import RateLimit, account_key

BASE_URL = "https://api.rd.services"
# 120 requests per minute per account: at most 2 a second keeps under it in any minute.
REQUESTS_PER_SECOND = 2
# Renew the access token when less than this is left of it (seconds).
REFRESH_MARGIN = 300
# The conversion events offered as "lists" (RD Station has no lists): a creator builds
# RD segmentations on "converted on <identifier>".
CONVERSIONS = (
    ListInfo("subscription-active", "Conversion: subscription-active"),
    ListInfo("subscription-payment-late", "Conversion: subscription-payment-late"),
    ListInfo("subscription-cancelled", "Conversion: subscription-cancelled"),
    ListInfo("subscription-ended", "Conversion: subscription-ended"),
    ListInfo("subscription-reactivated", "Conversion: subscription-reactivated"),
    ListInfo("charge-refunded", "Conversion: charge-refunded"),
)
CONSENT_GRANTED = [{"category": "communications", "type": "consent", "status": "granted"}]


class RDStationClient(ProviderClient):
    def provider_detail(self, response: httpx.Response) -> tuple[str, str, tuple[str, ...]]:
        # {"errors": {"error_type", "error_message"}} or a list of them.
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "", "", ()
        errors = body.get("errors") if isinstance(body, dict) else None
        items = [
            e for e in (errors if isinstance(errors, list) else [errors]) if isinstance(e, dict)
        ]
        parts = [str(e.get("error_message") or e.get("error_type") or "") for e in items]
        code = str(items[0].get("error_type") or "") if items else ""
        return "; ".join(p for p in parts if p), code, ()

    def error_for(self, response: httpx.Response) -> ProviderError:
        error = super().error_for(response)
        if not error.auth:
            return error
        text, code, _ = self.provider_detail(response)
        detail = redact(text, self.secrets)[:MESSAGE_LIMIT]
        suffix = f" ({detail})" if detail else ""
        return ProviderError(
            f"RD Station Marketing refused the credentials (HTTP {response.status_code})"
            f"{suffix}. Authorize again from the integration page.",
            permanent=True,
            status=error.status,
            auth=True,
            code=code,
        )


@register
class RDStationProvider(OAuthProvider, EmailMarketingProvider):
    name = "rdstation"
    label = "RD Station Marketing"
    credential_fields = ("client_id", "client_secret")
    creates_tags = True
    # subscribed: the LGPD legal basis "consent granted" for communications;
    # transactional: no communications legal basis is sent.
    contact_statuses = (SUBSCRIBED, TRANSACTIONAL)

    @classmethod
    def clean_credentials(cls, credentials: Any) -> dict[str, str]:
        """The app's client id and secret; API callers may add a `refresh_token` they
        already hold (the dashboard gets one through the authorization flow)."""
        extra = {}
        if isinstance(credentials, dict) and "refresh_token" in credentials:
            credentials = dict(credentials)
            token = credentials.pop("refresh_token")
            if not isinstance(token, str) or not token.strip():
                raise CredentialsInvalid(
                    "RD Station Marketing credentials need a non-empty 'refresh_token' "
                    "when one is given."
                )
            extra["refresh_token"] = token.strip()
        return {**super().clean_credentials(credentials), **extra}

    # -- OAuth ---------------------------------------------------------------------

    def _token_client(self) -> ProviderClient:
        return RDStationClient(
            provider=self.name,
            label=self.label,
            base_url=BASE_URL,
            headers={"Content-Type": "application/json"},
            secrets=[str(v) for v in self.credentials.values()],
        )

    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        query = urlencode(
            {
                "client_id": self.credentials.get("client_id", ""),
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self._token_client().base_url}/auth/dialog?{query}"

    def _tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._token_client().request("POST", "/auth/token", json_body=body) or {}
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str):
            raise ProviderError(
                "RD Station answered without an access token; authorize again.",
                permanent=True,
                auth=True,
            )
        expires_in = float(answer.get("expires_in") or 86400)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_at": str(int(time.time() + expires_in)),
        }

    def exchange_code(self, *, code: str, redirect_uri: str) -> dict[str, Any]:
        return self._tokens(
            {
                "client_id": self.credentials.get("client_id", ""),
                "client_secret": self.credentials.get("client_secret", ""),
                "code": code,
            }
        )

    def renew(self, credentials: dict[str, Any]) -> dict[str, Any]:
        """New tokens for `credentials` (rolling: the old refresh token stops working).
        A refusal is an authentication failure: the integration goes to `error`."""
        self.credentials = credentials
        try:
            return self._tokens(
                {
                    "client_id": credentials.get("client_id", ""),
                    "client_secret": credentials.get("client_secret", ""),
                    "refresh_token": credentials.get("refresh_token", ""),
                }
            )
        except ProviderError as exc:
            if exc.permanent and not exc.auth:  # 400 invalid_grant: the token is dead
                raise ProviderError(
                    f"RD Station refused to renew the access ({exc.message}) "
                    "Authorize again from the integration page.",
                    permanent=True,
                    auth=True,
                    status=exc.status,
                ) from None
            raise

    def _refresh(self, used_access_token: str) -> None:
        if self.integration_id is None:
            self.credentials = {**self.credentials, **self.renew(dict(self.credentials))}
            return
        from notifications.services import integration_tokens_refresh

        self.credentials = integration_tokens_refresh(
            integration_id=self.integration_id,
            used_access_token=used_access_token,
            renew=self.renew,
        )

    def _access_token(self) -> str:
        creds = self.credentials
        if not creds.get("access_token") and not creds.get("refresh_token"):
            raise ProviderError(
                "RD Station Marketing is not authorized yet: choose “Authorize” on the "
                "integration page.",
                permanent=True,
                auth=True,
            )
        expires_at = float(creds.get("expires_at") or 0)
        if not creds.get("access_token") or expires_at - time.time() < REFRESH_MARGIN:
            self._refresh(str(creds.get("access_token", "")))
        return str(self.credentials["access_token"])

    # -- API calls -----------------------------------------------------------------

    def _client(self, token: str) -> ProviderClient:
        return RDStationClient(
            provider=self.name,
            label=self.label,
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            secrets=[token, *(str(v) for v in self.credentials.values())],
            limiter=RateLimit(
                account_key(self.name, str(self.credentials.get("client_id", ""))),
                per_second=REQUESTS_PER_SECOND,
                label=self.label,
            ),
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        token = self._access_token()
        try:
            return self._client(token).request(method, path, **kwargs)
        except ProviderError as exc:
            if exc.status != 401 or not self.credentials.get("refresh_token"):
                raise
        # The access token was refused before its expiry (revoked, clock skew): renew
        # once and try again.
        self._refresh(token)
        return self._client(str(self.credentials["access_token"])).request(method, path, **kwargs)

    def validate(self) -> None:
        self._call("GET", "/marketing/account_info")

    def lists(self) -> list[ListInfo]:
        return list(CONVERSIONS)

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return []

    def _contact(self, email: str) -> dict[str, Any] | None:
        try:
            body = self._call("GET", f"/platform/contacts/email:{_email(email)}")
        except ProviderError as exc:
            if exc.status == 404:
                return None
            raise
        return body if isinstance(body, dict) else None

    def _create(self, contact: Contact, *, tags: list[str]) -> None:
        # Created only to carry a tag: no legal basis, so never subscribed.
        body: dict[str, Any] = {"email": contact.email}
        if name := _name(contact):
            body["name"] = name
        body["tags"] = tags
        self._call("POST", "/platform/contacts", json_body=body)

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        identifier = _conversion(list_id)
        payload: dict[str, Any] = {"conversion_identifier": identifier, "email": contact.email}
        if name := _name(contact):
            payload["name"] = name
        # Consent goes only with a contact that has none yet (new, or created earlier
        # just to carry a tag): legal bases sent for anyone else would replace a
        # consent they gave or declined themselves.
        if self.new_contact_status == SUBSCRIBED and _without_consent(self._contact(contact.email)):
            payload["legal_bases"] = CONSENT_GRANTED
        self._call(
            "POST",
            "/platform/events",
            params={"event_type": "conversion"},
            json_body={"event_type": "CONVERSION", "event_family": "CDP", "payload": payload},
        )

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        _conversion(list_id)
        raise ProviderError(
            "RD Station Marketing has no lists and a conversion cannot be undone; "
            "remove an RD Station tag in this action instead.",
            permanent=True,
        )

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        name = _tag(tag)
        if self._contact(contact.email) is None:
            # RD tags only existing contacts: create it already tagged (one call).
            self._create(contact, tags=[name])
            return
        self._call(
            "POST",
            f"/platform/contacts/email:{_email(contact.email)}/tag",
            json_body={"tags": [name]},
        )

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        name = _tag(tag)
        found = self._contact(contact.email)
        if found is None:
            return  # never create a contact to remove something from it
        tags = [str(t) for t in found.get("tags") or []]
        kept = [t for t in tags if t.strip().lower() != name]
        if kept == tags:
            return
        # The contact's tag list is replaced by the one sent: every other tag stays.
        self._call(
            "PATCH", f"/platform/contacts/email:{_email(contact.email)}", json_body={"tags": kept}
        )

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        if action_type not in ("add_tag", "remove_tag"):
            return None  # a conversion leaves nothing to read back
        found = self._contact(contact.email)
        tagged = found is not None and _tag(tag) in {
            str(t).strip().lower() for t in found.get("tags") or []
        }
        return tagged if action_type == "add_tag" else not tagged


def _without_consent(found: dict[str, Any] | None) -> bool:
    """A contact RD does not know, or one whose answer lists legal bases and none for
    communications. A contact whose answer has no `legal_bases` at all counts as having
    one: we cannot tell, so we send none."""
    if found is None:
        return True
    bases = found.get("legal_bases")
    if not isinstance(bases, list):
        return False
    return not any(isinstance(b, dict) and b.get("category") == "communications" for b in bases)


def _name(contact: Contact) -> str:
    """The full name from the parts we know; empty when we know none."""
    return " ".join(p.strip() for p in (contact.first_name, contact.last_name) if p and p.strip())


def _email(email: str) -> str:
    return quote(email.strip(), safe="@")


def _tag(tag: str) -> str:
    # RD Station keeps tags in lower case.
    name = tag.strip().lower()
    if not name:
        raise ProviderError("The tag is empty.", permanent=True)
    return name


def _conversion(list_id: str) -> str:
    identifier = str(list_id).strip()
    if not identifier:
        raise ProviderError("Choose a conversion event for RD Station.", permanent=True)
    return identifier
