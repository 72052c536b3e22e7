"""A key is its member's: it dies with the membership and never exceeds the member's role.

Generated from the URL resolver like the tenant-isolation matrix (tests/api/route_cases.py):
for every write route and method, a manager's key is used after the manager was removed
from the team (401, nothing written) and after the manager was demoted to viewer (403,
nothing written); reads with the removed member's key are refused too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership, Role
from accounts.services import api_key_create
from dashboard.services import team_member_remove, team_role_change
from tests.api.route_cases import RouteCase, all_cases, api_routes
from tests.api.test_tenant_isolation import _url
from tests.factories import CreatorFactory, MembershipFactory

ROUTES = api_routes()
CASES = all_cases()
WRITE_CALLS = [
    pytest.param(name, method, id=f"{name}-{method}")
    for name, route in sorted(ROUTES.items())
    for method in sorted(route.methods)
    if method != "get"
]
READ_CALLS = [
    pytest.param(name, id=name) for name, route in sorted(ROUTES.items()) if "get" in route.methods
]


def _row_counts() -> dict[str, int]:
    """How many rows every model of ours holds: a refused write leaves them all alone."""
    ours = ("accounts", "subscriptions", "reactivation", "notifications", "segmentation")
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in ours and model is not ApiKey  # last_used_at only
    }


def _manager_key(creator: Any) -> tuple[Membership, APIClient]:
    manager = MembershipFactory(creator=creator, role=Role.MANAGER)
    issued = api_key_create(
        creator=creator, name="manager's key", role=Role.MANAGER, created_by=manager.user
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    return manager, client


def _call(name: str, method: str, settings: Any, change: str) -> tuple[Any, dict[str, int]]:
    case: RouteCase = CASES[name]
    for key, value in (case.settings() if case.settings else {}).items():
        setattr(settings, key, value)
    creator = CreatorFactory()
    MembershipFactory(creator=creator, role=Role.OWNER)
    built = case.build(creator)
    manager, client = _manager_key(creator)
    if change == "removed":
        team_member_remove(membership=manager)
    else:
        team_role_change(membership=manager, role=Role.VIEWER)
    call = case.calls[method]
    body = call.body(built) if call.body else None
    before = _row_counts()
    response = getattr(client, method)(_url(ROUTES[name], built), body, format="json")
    return response, before


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), WRITE_CALLS)
def test_a_removed_members_key_writes_nothing(name: str, method: str, settings: Any) -> None:
    response, before = _call(name, method, settings, "removed")
    assert response.status_code == 401, (name, method, response.status_code, response.content)
    assert response.json()["error"]["code"] == "authentication_failed"
    assert _row_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), WRITE_CALLS)
def test_a_demoted_members_key_is_read_only(name: str, method: str, settings: Any) -> None:
    response, before = _call(name, method, settings, "demoted")
    assert response.status_code == 403, (name, method, response.status_code, response.content)
    assert response.json()["error"]["code"] == "permission_denied"
    assert _row_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", READ_CALLS)
def test_a_removed_members_key_reads_nothing(name: str, settings: Any) -> None:
    response, _ = _call(name, "get", settings, "removed")
    assert response.status_code == 401, (name, response.status_code, response.content)
    assert "results" not in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("name", READ_CALLS)
def test_a_demoted_members_key_still_reads(name: str, settings: Any) -> None:
    response, _ = _call(name, "get", settings, "demoted")
    assert response.status_code == CASES[name].calls["get"].ok, (name, response.content)
