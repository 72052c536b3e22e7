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
from accounts.services import api_keys_revoke_for_member
from core.errors import Conflict
from notifications.email import email_send


@dataclass(frozen=True)
class Invitation:
    membership: Membership
    user_created: bool
    # A member who never set a password was invited again (a fresh link, the new role).
    sent_again: bool = False


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
    """Add a person to the team by email. Someone without a password (new, or invited
    before and never finished) gets a link to set one (Django's password-reset token:
    single use, expires after PASSWORD_RESET_TIMEOUT); someone known is added and told so.
    Inviting a member who never set a password sends the invitation again with a fresh
    link and the chosen role; inviting any other member twice is refused (409)."""
    email = User.objects.normalize_email(email).strip()
    sent_again = False
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        user_created = user is None
        if user is None:
            user = User.objects.create_user(email=email, password=None)
        membership = (
            Membership.objects.select_for_update().filter(creator=creator, user=user).first()
        )
        if membership is not None:
            if user.has_usable_password():
                raise Conflict("This person is already on the team.", code="already_member")
            membership.role = Role(role)
            membership.save(update_fields=["role"])
            sent_again = True
        else:
            membership = Membership.objects.create(creator=creator, user=user, role=Role(role))
    needs_password = not user.has_usable_password()
    context: dict[str, Any] = {
        "creator_name": creator.name,
        "inviter": invited_by.email,
        "role": Role(role).label,
        "set_password_url": _set_password_url(user) if needs_password else "",
        "login_url": settings.BASE_URL + reverse("login"),
    }
    recipient = user.email
    transaction.on_commit(
        lambda: email_send(
            to=recipient, template="team_invite", context=context, locale=creator.locale
        )
    )
    return Invitation(membership=membership, user_created=user_created, sent_again=sent_again)


def _owners_left_without(membership: Membership) -> int:
    return (
        Membership.objects.filter(creator_id=membership.creator_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def team_role_change(*, membership: Membership, role: str) -> Membership:
    """Change a member's role. A workspace always keeps at least one owner. The member's
    API keys follow at once: a key never grants more than its holder's current role."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER and _owners_left_without(locked) == 0:
        raise Conflict("A team needs at least one owner.", code="last_owner")
    locked.role = Role(role)
    locked.save(update_fields=["role"])
    return locked


@transaction.atomic
def team_member_remove(*, membership: Membership) -> None:
    """Remove a member; their access ends at once. Their API keys are revoked in the same
    transaction (keys are the member's: accounts.models.ApiKey), and their sessions no
    longer reach this creator (every request looks the membership up again). The last
    owner cannot be removed."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and _owners_left_without(locked) == 0:
        raise Conflict("A team needs at least one owner.", code="last_owner")
    api_keys_revoke_for_member(membership=locked)
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
