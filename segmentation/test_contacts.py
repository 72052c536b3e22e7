"""Who a rule's "send test" may go to, and how often (SPEC §9: "Send test" goes only to a
verified member address of the tenant, one address, rate limited).

A test send runs the rule's real actions: a `send_email` action mails the test contact
and the provider actions create or tag them. Left open, the form would relay mail to any
address (or to several: anymail splits `a@x, b@y` and parses `a@x\\r\\nBcc: c@y`), so:

- exactly one plain address (no list, no display name, no CR/LF), valid for Django;
- it must be the account email of a member of the rule's creator who has set a password
  (they received the invitation or password-reset email at it: verified). A pending
  invitation does not count, or inviting an outsider would open the relay again;
- at most SEGMENTATION_TEST_SENDS_PER_MEMBER per member and
  SEGMENTATION_TEST_SENDS_PER_CREATOR per creator each hour, counted in Redis like the
  other limiters (core.ratelimit).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Creator, User
from core.errors import DomainError
from core.ratelimit import hit

WINDOW_SECONDS = 3600
# Separators of address lists and header injection: refused before any parsing.
_NOT_ONE_ADDRESS = re.compile(r"[,;<>\s\"]")

ONE_ADDRESS = "Enter one email address."
NOT_A_MEMBER = "Test sends go only to a team member's verified address (your own by default)."


class TestContactRefused(DomainError):
    """The address is not one verified team member's: the form shows it on the field."""

    __test__ = False  # not a pytest class
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, details={"email": [message]})
        self.reason = reason  # "one_address" or "not_a_member"


class TestSendsThrottled(DomainError):
    status = 429
    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many test sends. Please wait before sending another.",
            details={"retry_after": retry_after},
        )
        self.retry_after = retry_after


def test_contact_check(*, creator: Creator, email: str) -> str:
    """The member's address as stored, when `email` is exactly one verified address of a
    member of `creator`; else TestContactRefused."""
    candidate = email.strip()
    if not candidate or _NOT_ONE_ADDRESS.search(candidate):
        raise TestContactRefused(ONE_ADDRESS, reason="one_address")
    try:
        validate_email(candidate)
    except ValidationError:
        raise TestContactRefused(ONE_ADDRESS, reason="one_address") from None
    member = (
        User.objects.filter(memberships__creator=creator, email__iexact=candidate, is_active=True)
        .only("email", "password")
        .first()
    )
    if member is None or not member.has_usable_password():
        raise TestContactRefused(NOT_A_MEMBER, reason="not_a_member")
    return member.email


def test_send_count(*, creator: Creator, requested_by: User) -> None:
    """Count one test send for the member and for the creator; TestSendsThrottled when
    either is over its hourly limit."""
    limits = (
        (
            f"segmentation-test:member:{requested_by.uuid}",
            settings.SEGMENTATION_TEST_SENDS_PER_MEMBER,
        ),
        (f"segmentation-test:creator:{creator.uuid}", settings.SEGMENTATION_TEST_SENDS_PER_CREATOR),
    )
    for key, limit in limits:
        allowed, retry_after = hit(key, int(limit), WINDOW_SECONDS)
        if not allowed:
            raise TestSendsThrottled(retry_after)
