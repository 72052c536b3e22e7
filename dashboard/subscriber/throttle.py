"""Counters in the shared cache (Redis) through core.ratelimit, so every web process
sees the same counts."""

from __future__ import annotations

from django.conf import settings

from core.ratelimit import hit

WINDOW_SECONDS = 3600


def sign_in_request_retry_after(*, creator_slug: str, ip: str, email: str) -> int:
    """Count one sign-in request against the per-IP and the per-email limit; 0 while both
    allow it, else the seconds until they do (keys are hashed by `hit`)."""
    _ip_ok, ip_retry = hit(
        f"subscriber-sign-in:ip:{ip}", settings.SUBSCRIBER_SIGN_IN_PER_IP, WINDOW_SECONDS
    )
    _email_ok, email_retry = hit(
        f"subscriber-sign-in:email:{creator_slug}:{email.strip().lower()}",
        settings.SUBSCRIBER_SIGN_IN_PER_EMAIL,
        WINDOW_SECONDS,
    )
    return max(ip_retry, email_retry)


def sign_in_request_allowed(*, creator_slug: str, ip: str, email: str) -> bool:
    return sign_in_request_retry_after(creator_slug=creator_slug, ip=ip, email=email) == 0
