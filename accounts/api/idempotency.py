"""`Idempotency-Key` for POSTs that charge money (SPEC §10), reusable by any endpoint.

    return idempotent(request, creator=self.tenant, perform=lambda: self._create(request))

Same key and same request → the first answer again (header `Idempotent-Replayed: true`);
same key, different request → 422; the first request still running → 409. The key is
claimed with a unique row per (creator, key) before any work starts, so two concurrent
duplicates can never both run. A request that ends in an exception releases its key so
the client can retry; a finished one keeps its answer for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Creator, IdempotencyRecord
from core.errors import Conflict, DomainError

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class InvalidIdempotencyKey(DomainError):
    status = 400
    code = "invalid_idempotency_key"


def request_fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    raw = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def idempotency_key_from(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            details={HEADER: ["Invalid value."]},
        )
    return key


def _claim(*, creator: Creator, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Claim the key for this request; None when claimed, else the existing record."""
    now = timezone.now()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                creator=creator, key=key, request_fingerprint=fingerprint, expires_at=now + TTL
            )
        return None
    except IntegrityError:
        pass
    # An expired record is taken over by whoever updates it first (conditional UPDATE).
    taken = IdempotencyRecord.objects.filter(creator=creator, key=key, expires_at__lte=now).update(
        request_fingerprint=fingerprint,
        status_code=None,
        response_body=None,
        created_at=now,
        expires_at=now + TTL,
    )
    if taken:
        return None
    existing = IdempotencyRecord.objects.filter(creator=creator, key=key).first()
    if existing is None:  # deleted by a failed first request in between: try once more
        return _claim(creator=creator, key=key, fingerprint=fingerprint)
    return existing


def idempotent(request: Request, *, creator: Creator, perform: Callable[[], Response]) -> Response:
    key = idempotency_key_from(request)
    if key is None:
        return perform()
    fingerprint = request_fingerprint(request)
    existing = _claim(creator=creator, key=key, fingerprint=fingerprint)
    if existing is not None:
        if existing.request_fingerprint != fingerprint:
            raise DomainError(
                f"This {HEADER} was already used with a different request.",
                code="idempotency_key_reused",
            )
        if existing.status_code is None:
            raise Conflict(
                f"A request with this {HEADER} is still being processed; retry shortly.",
                code="idempotency_in_progress",
            )
        replay = Response(existing.response_body, status=existing.status_code)
        replay["Idempotent-Replayed"] = "true"
        return replay
    records = IdempotencyRecord.objects.filter(creator=creator, key=key)
    try:
        response = perform()
    except BaseException:
        records.delete()
        raise
    if response.status_code >= 500:
        records.delete()
    else:
        records.update(status_code=response.status_code, response_body=response.data)
    return response
