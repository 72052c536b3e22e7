"""Who acted: one value built at each entry point and passed to every service.

An `Actor` has a kind (what authorizes it), an id (whose) and a label (for people reading
the history). Services decide on `kind`, never on the label; the label and `ref` are
what is stored. The stored formats are kept as they were, so old rows read the same:
`ref` is "user:<uuid>", "api_key:<uuid>", "support:<username>", "subscriber:<uuid>" or
the job's name ("system", "stripe"); labels read "dashboard: <email>", "support: <email>",
"API key sk_live_abc…".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    MEMBER = "member"  # a creator's member, in the dashboard or the API with a session
    API_KEY = "api_key"  # the REST API with a key
    SUPPORT = "support"  # platform staff in the Django admin
    SUBSCRIBER = "subscriber"  # the subscriber, on the pages reached from emails
    SYSTEM = "system"  # periodic jobs, gateway webhooks, demo data


_REF_PREFIX = {
    ActorKind.MEMBER: "user:",
    ActorKind.API_KEY: "api_key:",
    ActorKind.SUPPORT: "support:",
    ActorKind.SUBSCRIBER: "subscriber:",
    ActorKind.SYSTEM: "",
}


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    label: str = ""

    @property
    def ref(self) -> str:
        """The stable reference stored in event data (`actor`)."""
        return f"{_REF_PREFIX[self.kind]}{self.id}"

    @property
    def is_support(self) -> bool:
        return self.kind is ActorKind.SUPPORT

    def __str__(self) -> str:
        return self.label or self.ref

    # --- built at the entry points ---------------------------------------------------

    @classmethod
    def member(cls, user: Any, *, label: str = "") -> Actor:
        """A member in the dashboard (label "dashboard: <email>") or, with `label`, elsewhere."""
        return cls(ActorKind.MEMBER, str(user.uuid), label or f"dashboard: {user.email}")

    @classmethod
    def api_key(cls, key: Any) -> Actor:
        return cls(ActorKind.API_KEY, str(key.uuid), f"API key {key.prefix}…")

    @classmethod
    def support(cls, user: Any) -> Actor:
        return cls(ActorKind.SUPPORT, user.get_username(), f"support: {getattr(user, 'email', '')}")

    @classmethod
    def subscriber(cls, subscriber: Any) -> Actor:
        return cls(ActorKind.SUBSCRIBER, str(subscriber.uuid), subscriber.email)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name, name)


def api_actor(request: Any) -> Actor:
    """The actor of a REST API request: its API key, or the member of a browser session
    (labelled with their email, as the API's history always read)."""
    key = getattr(getattr(request, "_request", request), "api_key", None)
    if key is not None:
        return Actor.api_key(key)
    return Actor.member(request.user, label=request.user.email)
