"""Writes behind the creator pages: team, settings. Each one transaction; emails after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Creator, Membership, Role, User
from core.errors import Conflict
from notifications.email import email_send


@dataclass(frozen=True)
class Invitation:
    membership: Membership
    user_created: bool


def _set_password_url(user: User) -> str:
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.BASE_URL + path


def team_invite(*, creator: Creator, email: str, role: str, invited_by: User) -> Invitation:
    """Add a person to the team by email. Someone new gets an account without a password
    and a link to set one (Django's password-reset token: single use, expires after
    PASSWORD_RESET_TIMEOUT); someone known is added and told so. Inviting a member twice
    is refused (409)."""
    email = User.objects.normalize_email(email).strip()
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        user_created = user is None
        if user is None:
            user = User.objects.create_user(email=email, password=None)
        elif Membership.objects.filter(creator=creator, user=user).exists():
            raise Conflict("This person is already on the team.", code="already_member")
        membership = Membership.objects.create(creator=creator, user=user, role=Role(role))
    context: dict[str, Any] = {
        "creator_name": creator.name,
        "inviter": invited_by.email,
        "role": Role(role).label,
        "set_password_url": _set_password_url(user) if user_created else "",
        "login_url": settings.BASE_URL + reverse("login"),
    }
    recipient = user.email
    transaction.on_commit(
        lambda: email_send(
            to=recipient, template="team_invite", context=context, locale=creator.locale
        )
    )
    return Invitation(membership=membership, user_created=user_created)


def _owners_left_without(membership: Membership) -> int:
    return (
        Membership.objects.filter(creator_id=membership.creator_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def team_role_change(*, membership: Membership, role: str) -> Membership:
    """Change a member's role. A workspace always keeps at least one owner."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER and _owners_left_without(locked) == 0:
        raise Conflict("A team needs at least one owner.", code="last_owner")
    locked.role = Role(role)
    locked.save(update_fields=["role"])
    return locked


@transaction.atomic
def team_member_remove(*, membership: Membership) -> None:
    """Remove a member. The last owner cannot be removed."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and _owners_left_without(locked) == 0:
        raise Conflict("A team needs at least one owner.", code="last_owner")
    locked.delete()


@transaction.atomic
def creator_settings_update(
    *,
    creator: Creator,
    time_zone: str,
    locale: str,
    currency: str,
    retry_schedule: list[int],
) -> Creator:
    """Save the workspace settings. The payment gateway is not set here: it goes through
    `subscriptions.gateways.configure.creator_gateway_configure`, which checks the key."""
    locked = Creator.objects.select_for_update().get(pk=creator.pk)
    locked.time_zone = time_zone
    locked.locale = locale
    locked.currency = currency.upper()
    locked.retry_schedule = retry_schedule
    locked.full_clean(exclude=["slug", "name"])
    locked.save(update_fields=["time_zone", "locale", "currency", "retry_schedule"])
    return locked
