"""Helpers for API tests: a client authenticated with a fresh API key of a given role.

A key is a member's (accounts.models.ApiKey), so each key here comes with its holder: a
new member of the creator with the key's role.
"""

from __future__ import annotations

from rest_framework.test import APIClient

from accounts.models import Creator, Role
from accounts.services import IssuedApiKey, api_key_create


def member_key(creator: Creator, role: str = Role.OWNER, name: str = "API key") -> IssuedApiKey:
    """A key held by a new member of `creator` with `role`."""
    from tests.factories import MembershipFactory

    holder = MembershipFactory(creator=creator, role=role).user
    return api_key_create(creator=creator, created_by=holder, name=name, role=role)


def api_client(creator: Creator, role: str = Role.OWNER) -> APIClient:
    client = APIClient()
    issued = member_key(creator, role)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    return client
