"""Counters in the shared cache (Redis), so every web process sees the same counts."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 3600


def _hit(key: str, limit: int) -> bool:
    """Count one attempt; True while within `limit` per window."""
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= limit


def sign_in_request_allowed(*, creator_slug: str, ip: str, email: str) -> bool:
    email_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    ip_ok = _hit(f"subscriber-sign-in:ip:{ip}", getattr(settings, "SUBSCRIBER_SIGN_IN_PER_IP", 20))
    email_ok = _hit(
        f"subscriber-sign-in:email:{creator_slug}:{email_key}",
        getattr(settings, "SUBSCRIBER_SIGN_IN_PER_EMAIL", 5),
    )
    return ip_ok and email_ok
