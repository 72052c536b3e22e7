"""T1: tenant-isolation matrix over every dashboard page, generated from the URL resolver
(the API has its own: tests/api/test_tenant_isolation.py).

Two creators get the same objects, each marked with its own string in every name and
email. For each (route, method): the owner gets the case's status and never sees the
other creator's marker; a viewer reads like the owner and gets 403 on every write; an
outsider (owner of the other creator) gets 404 on every object of the first creator and
never sees its marker. Every query made while serving them also passes the tenant-scope
check (core.tenancy), which raises on an unscoped query in tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from dashboard.bulk import BulkAction, register_bulk_action, unregister_bulk_action
from tests.factories import CreatorFactory, MembershipFactory
from tests.reliability.dashboard_cases import (
    BULK_ACTION,
    BULK_RECORD,
    DashboardCase,
    all_cases,
    bulk_record_handler,
    dashboard_routes,
)

ROUTES = dashboard_routes()
CASES = all_cases()
ROLES = ("owner", "viewer", "outsider")
MARK_A = "tenant-a-7f3k"
MARK_B = "tenant-b-9q2z"


def test_every_dashboard_route_has_a_case() -> None:
    assert "dashboard:overview" in ROUTES, "the resolver walk found no dashboard page"
    missing = sorted(set(ROUTES) - set(CASES))
    assert not missing, f"dashboard routes without a tenant-isolation case: {missing}"
    stale = sorted(set(CASES) - set(ROUTES))
    assert not stale, f"cases for routes that no longer exist: {stale}"


def _matrix() -> list[Any]:
    return [
        pytest.param(name, method, role, id=f"{name}-{method}-{role}")
        for name in sorted(CASES)
        for method in sorted(CASES[name].calls)
        for role in ROLES
    ]


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bulk_recorder() -> Iterator[None]:
    BULK_RECORD.clear()
    register_bulk_action(BulkAction(name=BULK_ACTION, label="Record", handler=bulk_record_handler))
    yield
    unregister_bulk_action(BULK_ACTION)
    BULK_RECORD.clear()


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "role"), _matrix())
def test_dashboard_tenant_isolation(name: str, method: str, role: str, bulk_recorder: None) -> None:
    case: DashboardCase = CASES[name]
    call = case.calls[method]
    creator, other = CreatorFactory(), CreatorFactory()
    users = {
        "owner": MembershipFactory(creator=creator, role=Role.OWNER).user,
        "viewer": MembershipFactory(creator=creator, role=Role.VIEWER).user,
        "outsider": MembershipFactory(creator=other, role=Role.OWNER).user,
    }
    built = case.build(creator, MARK_A)
    case.build(other, MARK_B)
    url = reverse(name, kwargs=built.kwargs)
    client = _client(users[role])
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, call.data(built) if call.data else {})
    status = response.status_code
    body = response.content.decode()
    detail = f"{method.upper()} {name} as {role}: {status} {body[:300]!r}"

    if role == "owner":
        expected = call.ok
    elif role == "viewer":
        expected = call.ok if method == "get" or not call.write else 403
    elif built.kwargs:
        expected = 404
    else:
        expected = call.outsider if method == "post" else call.ok
    assert status == expected, detail

    foreign = MARK_A if role == "outsider" else MARK_B
    assert foreign not in body, f"{detail}: shows the other creator's {foreign!r}"
    if role == "owner" and call.shows_own_rows:
        assert MARK_A in body, f"{detail}: does not show the creator's own rows"
    if call.check:
        call.check(role, response, built)
