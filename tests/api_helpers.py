"""Helpers for API tests: a client authenticated with a fresh API key of a given role."""

from __future__ import annotations

from rest_framework.test import APIClient

from accounts.models import Creator, Role
from accounts.services import api_key_create


def api_client(creator: Creator, role: str = Role.OWNER) -> APIClient:
    client = APIClient()
    issued = api_key_create(creator=creator, role=role)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    return client
