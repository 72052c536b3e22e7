from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ROLE_RANK, WRITE_ROLES, ApiKey, Creator, Membership, Role, User
from core.errors import PermissionDenied

API_KEY_PREFIX = "sk_live_"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str  # shown to the creator once, never stored


@transaction.atomic
def api_key_create(
    *,
    creator: Creator,
    created_by: User,
    name: str = "API key",
    role: str = Role.MANAGER,
) -> IssuedApiKey:
    """Issue a key to a member: 256 random bits behind a recognisable prefix; only the
    hash is kept. The key is the member's (`created_by`): nobody holds a key of a creator
    they are not a member of, and nobody issues a key stronger than their own role (a
    manager cannot create an owner's key)."""
    holder_role = _member_role(creator_id=creator.pk, user_id=created_by.pk)
    if holder_role is None:
        raise PermissionDenied(
            "Only a member of the team can hold an API key.", code="not_a_member"
        )
    if ROLE_RANK[Role(role)] > ROLE_RANK[holder_role]:
        raise PermissionDenied(
            "A key cannot grant more than its holder's role.", code="role_above_holder"
        )
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        creator=creator,
        name=name,
        role=role,
        prefix=raw[: len(API_KEY_PREFIX) + 6],
        key_hash=hash_api_key(raw),
        created_by=created_by,
    )
    return IssuedApiKey(api_key=key, raw_key=raw)


def _member_role(*, creator_id: int, user_id: int | None) -> Role | None:
    if user_id is None:
        return None
    role = (
        Membership.objects.filter(creator_id=creator_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


def api_key_is_owners(*, api_key: ApiKey) -> bool:
    """An owner's key: one with the owner role, or held by an owner."""
    return api_key.role == Role.OWNER or (
        _member_role(creator_id=api_key.creator_id, user_id=api_key.created_by_id) == Role.OWNER
    )


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, revoked_by: Membership | None = None) -> ApiKey:
    """Revoke a key at once. A member revoking needs a write role, and only an owner may
    revoke an owner's key; support staff (no membership) may revoke any."""
    if revoked_by is not None:
        if not revoked_by.can_write:
            raise PermissionDenied("Viewers cannot revoke keys.")
        if revoked_by.role != Role.OWNER and api_key_is_owners(api_key=api_key):
            raise PermissionDenied("Only an owner can revoke an owner's key.", code="owner_key")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_keys_revoke_for_member(*, membership: Membership) -> int:
    """Revoke every key a member holds for their creator (the member is leaving);
    returns how many. Runs inside the caller's transaction."""
    return ApiKey.objects.filter(
        creator_id=membership.creator_id, created_by_id=membership.user_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


@dataclass(frozen=True)
class AuthenticatedKey:
    api_key: ApiKey
    # The weaker of the key's role and its holder's current role.
    role: Role

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


def api_key_authenticate(*, raw_key: str) -> AuthenticatedKey | None:
    """The active key for a raw bearer token with what it may do now, or None.

    A key works only while its holder is a member of the key's creator, and grants the
    weaker of its own role and the holder's current role: a removed member's key is
    refused at once, a demoted manager's key is read-only. One query (hash lookup)."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    holder_role = Membership.objects.filter(
        creator_id=OuterRef("creator_id"), user_id=OuterRef("created_by_id")
    ).values("role")[:1]
    key = (
        ApiKey.objects.select_related("creator")
        .annotate(holder_role=Subquery(holder_role))
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if key is None:
        return None
    role = key.effective_role(key.holder_role)  # type: ignore[attr-defined]
    if role is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return AuthenticatedKey(api_key=key, role=role)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "creator"
    slug, n = base, 1
    while Creator.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@dataclass(frozen=True)
class CreatedCreator:
    creator: Creator
    owner: User
    api_key: IssuedApiKey


@transaction.atomic
def creator_create(
    *,
    name: str,
    owner_email: str,
    password: str | None = None,
    time_zone: str = "America/Sao_Paulo",
    locale: str = Creator.Locale.PT_BR,
    currency: str = "BRL",
) -> CreatedCreator:
    """Create a workspace, its owner (or reuse an existing user) and a first API key."""
    creator = Creator(
        name=name, slug=_unique_slug(name), time_zone=time_zone, locale=locale, currency=currency
    )
    creator.full_clean()
    creator.save()
    owner = User.objects.filter(email__iexact=owner_email).first()
    if owner is None:
        owner = User.objects.create_user(email=owner_email, password=password)
    elif password:
        owner.set_password(password)
        owner.save(update_fields=["password"])
    Membership.objects.create(creator=creator, user=owner, role=Role.OWNER)
    issued = api_key_create(creator=creator, name="Default key", role=Role.OWNER, created_by=owner)
    return CreatedCreator(creator=creator, owner=owner, api_key=issued)


IDEMPOTENCY_PURGE_BATCH = 5000


def idempotency_records_purge(*, max_batches: int = 20) -> int:
    """Delete `Idempotency-Key` answers whose 24 hours are over, a batch at a time (short
    statements, no long lock). A key reused after expiry is answered afresh anyway; this
    keeps the table from growing forever. Returns how many rows went."""
    from accounts.models import IdempotencyRecord

    deleted = 0
    for _ in range(max_batches):
        ids = list(
            IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).values_list(
                "pk", flat=True
            )[:IDEMPOTENCY_PURGE_BATCH]
        )
        if not ids:
            break
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
    return deleted
