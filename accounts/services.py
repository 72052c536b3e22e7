from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Creator, Membership, Role, User

API_KEY_PREFIX = "sk_live_"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str  # shown to the creator once, never stored


def api_key_create(
    *,
    creator: Creator,
    name: str = "API key",
    role: str = Role.MANAGER,
    created_by: User | None = None,
) -> IssuedApiKey:
    """Issue a key: 256 random bits behind a recognisable prefix; only the hash is kept."""
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


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key for a raw bearer token, or None. Constant-time by hash lookup."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    key = (
        ApiKey.objects.select_related("creator")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if key is not None:
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


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
