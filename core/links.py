"""Secret links sent to subscribers (reactivation, payment): one token scheme for all.

A token is 256 random bits, URL-safe (43 characters). Only its SHA-256 is stored: the
token exists nowhere but in the email that carries it. A string that cannot be a token
is refused before any query, so a tampered link costs no database lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets

# secrets.token_urlsafe(32): 43 URL-safe characters, 256 random bits.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def link_token_new() -> str:
    return secrets.token_urlsafe(32)


def link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def link_token_hash_or_none(token: str) -> str | None:
    """The hash to look the token up by, or None when it cannot be one of ours."""
    if not TOKEN_PATTERN.match(token):
        return None
    return link_token_hash(token)
