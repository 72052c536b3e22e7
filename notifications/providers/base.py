"""The interface every email-marketing provider adapter implements (SPEC §9).

The consent contract every adapter keeps (and `tests/notifications/providers/
properties.py` checks per provider):

- each action is self-contained and does exactly what it names. `add_to_list` adds the
  contact to the list, creating it there (only there) with the integration's
  `new_contact_status`; `add_tag` tags, creating the contact only when the provider
  cannot tag a stranger, and never changes a list status; `remove_from_list` and
  `remove_tag` only remove, and never create anything;
- nobody who unsubscribed is ever re-subscribed: an existing contact keeps its status;
- a field we do not know (a missing first or last name) is not sent at all, so a name
  the creator keeps at the provider is never wiped;
- every lookup pages to the end, and a tag is matched by its exact name;
- provider ids that do not change (tag ids, contact ids) are kept in `self.ids`, a
  short-lived cache per integration shared by every worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.cache import cache

# The status a new contact gets when an action creates it on a list, chosen per
# integration (`Integration.new_contact_status`). Each adapter declares the ones its
# provider has, in `contact_statuses`.
SUBSCRIBED = "subscribed"  # may receive marketing email at once
PENDING = "pending"  # double opt-in: the provider asks the person to confirm first
TRANSACTIONAL = "transactional"  # known to the provider, receives no marketing email
CONTACT_STATUSES = (SUBSCRIBED, PENDING, TRANSACTIONAL)

# Provider ids that do not change are cached this long (seconds): long enough to spare
# the lookups of a burst of deliveries, short enough that an id deleted at the provider
# is looked up again soon. A stale id is dropped at once when the provider answers 404.
ID_CACHE_SECONDS = 600


class ProviderError(Exception):
    """A provider call failed.

    permanent: retrying the same call will not help (400/401/403/404/422).
    auth: the credentials were refused (401/403); the integration goes to `error`.
    network: no answer came back (timeout, connection refused, DNS): nothing is known
      about the credentials.
    retry_after: seconds the provider asked us to wait (429/503 `Retry-After`).
    status: the HTTP status, when there was an answer.
    code: the provider's own error code, when it sends one (Brevo `invalid_parameter`).
    details: what the provider said to fix, field by field (Mailchimp `errors[]`);
      already part of `message`, kept apart for callers that list them.
    The message never contains credentials.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status: int | None = None,
        auth: bool = False,
        network: bool = False,
        code: str = "",
        details: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.auth = auth
        self.network = network
        self.code = code
        self.details = details


class CredentialsInvalid(ValueError):
    """The credentials do not have the shape the provider needs (before any HTTP call).
    The message names the field, never its value."""


@dataclass(frozen=True)
class Contact:
    """A person as an action sends them. A field that is None is unknown here and is
    not sent, so the provider keeps whatever it has."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None

    @classmethod
    def from_name(cls, *, email: str, name: str = "", locale: str = "") -> Contact:
        """ "Ana Maria Souza" → first "Ana", last "Maria Souza"; "Ana" → no last name;
        "" → no names."""
        first, last = split_name(name)
        return cls(
            email=email.strip(),
            first_name=first or None,
            last_name=last or None,
            locale=locale.strip() or None,
        )


@dataclass(frozen=True)
class ListInfo:
    id: str
    name: str


@dataclass(frozen=True)
class TagInfo:
    id: str
    name: str


class IdCache:
    """Provider ids that do not change, per integration and credentials, in the shared
    cache (Redis in production) for ID_CACHE_SECONDS. Without an integration id (a
    check before saving) nothing is kept."""

    def __init__(self, provider: str, integration_id: int | None, credentials: dict[str, Any]):
        self.prefix = ""
        if integration_id is not None:
            digest = hashlib.sha256(
                "\x00".join(f"{k}={v}" for k, v in sorted(credentials.items())).encode()
            ).hexdigest()[:16]
            self.prefix = f"provider-ids:{provider}:{integration_id}:{digest}"

    def _key(self, kind: str, name: str) -> str:
        # Names are user data (emails, tag names): hash them into a safe, short key.
        digest = hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]
        return f"{self.prefix}:{kind}:{digest}"

    def get(self, kind: str, name: str) -> str | None:
        if not self.prefix:
            return None
        value = cache.get(self._key(kind, name))
        return str(value) if value is not None else None

    def set(self, kind: str, name: str, value: str) -> None:
        if self.prefix:
            cache.set(self._key(kind, name), value, timeout=ID_CACHE_SECONDS)

    def forget(self, kind: str, name: str) -> None:
        if self.prefix:
            cache.delete(self._key(kind, name))


class EmailMarketingProvider:
    """Base class of provider adapters. Subclasses set the class attributes and
    implement every method; all HTTP goes through a `ProviderClient`, which honours
    PROVIDER_BASE_URLS."""

    name: ClassVar[str]
    label: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]]
    # Mailchimp: tags live inside an audience, so tag actions also need a list.
    tags_need_list: ClassVar[bool] = False
    # False: the provider has no contact tags (Brevo); tag actions fail permanently.
    supports_tags: ClassVar[bool] = True
    # True: a tag typed in the rule builder that does not exist yet is created by the
    # first `add_tag` (the builder says so for these providers).
    creates_tags: ClassVar[bool] = False
    # The values of CONTACT_STATUSES this provider can give a new contact; the first is
    # the default.
    contact_statuses: ClassVar[tuple[str, ...]] = (SUBSCRIBED,)

    def __init__(
        self,
        credentials: dict[str, Any],
        *,
        integration_id: int | None = None,
        new_contact_status: str = "",
    ) -> None:
        self.credentials = credentials
        self.integration_id = integration_id
        self.new_contact_status = (
            new_contact_status
            if new_contact_status in self.contact_statuses
            else self.contact_statuses[0]
        )
        self.ids = IdCache(self.name, integration_id, credentials)

    @classmethod
    def clean_credentials(cls, credentials: Any) -> dict[str, str]:
        """Check the shape of `credentials` (exactly `credential_fields`, each a non-empty
        string) and return them stripped. Subclasses add provider-specific checks."""
        if not isinstance(credentials, dict):
            raise CredentialsInvalid(
                f"{cls.label} credentials must be an object with {_fields(cls)}."
            )
        unknown = sorted(set(credentials) - set(cls.credential_fields))
        if unknown:
            raise CredentialsInvalid(
                f"{cls.label} credentials take only {_fields(cls)}; unexpected: "
                f"{', '.join(unknown)}."
            )
        cleaned: dict[str, str] = {}
        for name in cls.credential_fields:
            value = credentials.get(name)
            if not isinstance(value, str) or not value.strip():
                raise CredentialsInvalid(f"{cls.label} credentials need a non-empty {name!r}.")
            cleaned[name] = value.strip()
        return cleaned

    def validate(self) -> None:
        """Check the credentials with one cheap call. Raises ProviderError: `auth` when
        they are refused, `network` when the provider could not be reached."""
        raise NotImplementedError

    def lists(self) -> list[ListInfo]:
        """Every list of the account (all pages)."""
        raise NotImplementedError

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        """Every tag of the account, or of the list when `tags_need_list` (all pages)."""
        raise NotImplementedError

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        """Put the contact on the list. A new contact is created there with
        `self.new_contact_status`; an existing one keeps its status (an unsubscribed
        contact stays unsubscribed). Only the known fields of `contact` are sent."""
        raise NotImplementedError

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        """Take the contact off the list. A contact the provider does not know, or who
        is not on the list, is left alone: nothing is created."""
        raise NotImplementedError

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        """Tag the contact (the tag is created first when `creates_tags`). No list status
        changes; the contact is created only if the provider cannot tag a stranger, and
        then never as subscribed to anything."""
        raise NotImplementedError

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        """Untag the contact. An unknown contact or tag is left alone: nothing is
        created."""
        raise NotImplementedError

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        """Whether the provider already shows what an action does: the contact on the
        list or carrying the tag (`add_*`), or off it (`remove_*`).

        Asked before an action is sent again after an attempt whose outcome we never
        learned (its worker died mid-call, or the provider timed out after acting), so a
        contact is not tagged twice. None: this adapter cannot tell, and the action is
        sent again (every provider operation we use is idempotent). Provider errors
        propagate like those of the action itself.
        """
        return None

    def no_tags(self) -> ProviderError:
        return ProviderError(
            f"{self.label} has no contact tags; use a {self.label} list in this action instead.",
            permanent=True,
        )


def _fields(cls: type[EmailMarketingProvider]) -> str:
    return ", ".join(repr(f) for f in cls.credential_fields)


def split_name(name: str) -> tuple[str, str]:
    """First and last name for providers that store them apart ("Ana Maria Souza" →
    "Ana", "Maria Souza")."""
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last.strip()
