"""The interface every email-marketing provider adapter implements (SPEC §9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


class ProviderError(Exception):
    """A provider call failed.

    permanent: retrying the same call will not help (400/401/403/404/422).
    auth: the credentials were refused (401/403); the integration goes to `error`.
    retry_after: seconds the provider asked us to wait (429/503 `Retry-After`).
    status: the HTTP status, when there was an answer.
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
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.auth = auth


class CredentialsInvalid(ValueError):
    """The credentials do not have the shape the provider needs (before any HTTP call).
    The message names the field, never its value."""


@dataclass(frozen=True)
class Contact:
    email: str
    name: str = ""
    locale: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListInfo:
    id: str
    name: str


@dataclass(frozen=True)
class TagInfo:
    id: str
    name: str


class EmailMarketingProvider:
    """Base class of provider adapters. Subclasses set the class attributes and
    implement every method; all HTTP goes to `self.base_url` (PROVIDER_BASE_URLS)."""

    name: ClassVar[str]
    label: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]]
    # Mailchimp: tags live inside an audience, so tag actions also need a list.
    tags_need_list: ClassVar[bool] = False

    def __init__(self, credentials: dict[str, Any], *, integration_id: int | None = None) -> None:
        self.credentials = credentials
        self.integration_id = integration_id

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
        raise NotImplementedError

    def lists(self) -> list[ListInfo]:
        raise NotImplementedError

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        raise NotImplementedError

    def upsert_contact(self, contact: Contact, list_id: str | None = None) -> None:
        raise NotImplementedError

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        raise NotImplementedError

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        raise NotImplementedError

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        raise NotImplementedError

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
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


def _fields(cls: type[EmailMarketingProvider]) -> str:
    return ", ".join(repr(f) for f in cls.credential_fields)


def split_name(name: str) -> tuple[str, str]:
    """First and last name for providers that store them apart ("Ana Maria Souza" →
    "Ana", "Maria Souza")."""
    first, _, last = name.strip().partition(" ")
    return first, last.strip()
