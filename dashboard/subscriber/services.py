"""Sign-in links of the subscriber manage page (SPEC §7.2).

A link carries 256 random bits; only their SHA-256 is stored, it lasts one hour,
works once, and a newer link for the same subscriber supersedes it. Opening the link
(GET or HEAD) changes nothing, because mail scanners open links too; the "Continue"
button (POST) spends it and starts a short session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Creator
from dashboard.models import SubscriberSignInToken
from notifications.email import email_send
from subscriptions.models import Subscriber

SIGN_IN_LINK_LIFETIME = timedelta(hours=1)


def _hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def sign_in_link_send(*, creator: Creator, email: str) -> bool:
    """Email a sign-in link when `email` is one of the creator's subscribers.

    Returns whether a link was sent; callers must not show it to the person asking.
    """
    subscriber = Subscriber.objects.filter(creator=creator, email__iexact=email.strip()).first()
    if subscriber is None:
        return False
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        # A new link supersedes the subscriber's older unused ones: only the latest works.
        SubscriberSignInToken.objects.filter(
            subscriber=subscriber, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        SubscriberSignInToken.objects.create(
            creator=creator,
            subscriber=subscriber,
            token_hash=_hash(raw),
            expires_at=now + SIGN_IN_LINK_LIFETIME,
        )
    url = settings.BASE_URL + reverse(
        "subscriber:sign_in", kwargs={"slug": creator.slug, "token": raw}
    )
    email_send(
        to=subscriber.email,
        template="subscriber_sign_in",
        context={"creator_name": creator.name, "sign_in_url": url, "minutes": 60},
        locale=subscriber.locale,
    )
    return True


def sign_in_token_find(*, creator: Creator, raw_token: str) -> SubscriberSignInToken | None:
    """The usable token for a link, or None. Reads only."""
    return (
        SubscriberSignInToken.objects.select_related("subscriber")
        .filter(
            creator=creator,
            token_hash=_hash(raw_token),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def sign_in_token_use(*, creator: Creator, raw_token: str) -> Subscriber | None:
    """Spend a link: one conditional UPDATE, so two clicks cannot both sign in."""
    token = sign_in_token_find(creator=creator, raw_token=raw_token)
    if token is None:
        return None
    claimed = SubscriberSignInToken.objects.filter(
        pk=token.pk, used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now())
    return token.subscriber if claimed == 1 else None
