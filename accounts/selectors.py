from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Creator, Membership, User


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("creator").order_by("creator__name")


def membership_get(*, user: User, creator: Creator) -> Membership | None:
    return Membership.objects.filter(user=user, creator=creator).first()
