"""Tenant-isolation matrix over every API route, generated from the URL resolver.

For each (route, method): the owner gets the case's 2xx; a viewer gets 2xx on reads and
403 on every write; an outsider (a member of another creator) gets 404 on every object
route and sees none of the creator's rows in lists. Run with API keys and with the
dashboard's session.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Creator, Role
from tests.api.route_cases import ApiRoute, Built, RouteCase, all_cases, api_routes
from tests.api_helpers import api_client
from tests.factories import CreatorFactory, MembershipFactory

ROUTES = api_routes()
CASES = all_cases()
READ_METHODS = frozenset({"get"})
ROLES = ("owner", "viewer", "outsider")
AUTHS = ("key", "session")


def test_every_api_route_has_a_case() -> None:
    assert ROUTES, "the resolver walk found no API route"
    missing = sorted(set(ROUTES) - set(CASES))
    assert not missing, f"API routes without a tenant-isolation case: {missing}"
    for name, route in ROUTES.items():
        uncovered = sorted(route.methods - set(CASES[name].calls))
        assert not uncovered, f"{name}: no case for methods {uncovered}"
    stale = sorted(set(CASES) - set(ROUTES))
    assert not stale, f"cases for routes that no longer exist: {stale}"


def _matrix() -> list[Any]:
    params = []
    for name, route in sorted(ROUTES.items()):
        for method in sorted(route.methods):
            for role in ROLES:
                for auth in AUTHS:
                    params.append(
                        pytest.param(name, method, role, auth, id=f"{name}-{method}-{role}-{auth}")
                    )
    return params


def _url(route: ApiRoute, built: Built) -> str:
    path = route.pattern
    for key, value in built.kwargs.items():
        path = re.sub(rf"\(\?P<{key}>[^)]*\)", value, path)
    path = path.replace("/?$", "").replace("$", "")
    assert "(?P<" not in path, f"{route.name}: build() did not give every URL kwarg: {path}"
    return "/" + path


def _client(creator: Creator, role: str, auth: str) -> APIClient:
    tenant = creator if role != "outsider" else CreatorFactory()
    api_role = Role.VIEWER if role == "viewer" else Role.OWNER
    if auth == "key":
        return api_client(tenant, api_role)
    client = APIClient()
    user = MembershipFactory(creator=tenant, role=api_role).user
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "role", "auth"), _matrix())
def test_tenant_isolation(name: str, method: str, role: str, auth: str, settings: Any) -> None:
    case: RouteCase | None = CASES.get(name)
    assert case is not None, f"no case for {name}"
    for key, value in (case.settings() if case.settings else {}).items():
        setattr(settings, key, value)
    route = ROUTES[name]
    call = case.calls[method]
    creator = CreatorFactory()
    built = case.build(creator)
    client = _client(creator, role, auth)
    body = call.body(built) if call.body else None
    response = getattr(client, method)(_url(route, built), body, format="json")
    status = response.status_code
    detail = f"{method.upper()} {name} as {role} ({auth}): {status} {response.content[:300]!r}"
    is_read = method in READ_METHODS
    if role == "owner":
        assert status == call.ok, detail
    elif role == "viewer":
        assert status == (call.ok if is_read else 403), detail
    elif built.kwargs:
        assert status == 404, detail
        assert response.json()["error"]["code"] == "not_found", detail
    elif is_read:
        assert status == 200, detail
        assert response.json()["results"] == [], detail
    else:
        assert status == call.outsider, detail
    if status >= 400:
        assert set(response.json()) == {"error"}, detail
