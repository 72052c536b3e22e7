from __future__ import annotations

import os

import pytest

from accounts.models import Role
from tests.factories import CreatorFactory, MembershipFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise pytest.UsageError("CI must run on PostgreSQL: set DATABASE_URL")


def require_service(available: bool, what: str) -> None:
    """Skip locally when a real service is missing; fail in CI, where it must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture
def creator(db):  # type: ignore[no-untyped-def]
    return CreatorFactory()


@pytest.fixture
def owner(creator):  # type: ignore[no-untyped-def]
    return MembershipFactory(creator=creator, role=Role.OWNER).user


@pytest.fixture
def viewer(creator):  # type: ignore[no-untyped-def]
    return MembershipFactory(creator=creator, role=Role.VIEWER).user


@pytest.fixture
def outsider(db):  # type: ignore[no-untyped-def]
    """A member of another creator: sees 404 for everything of `creator`."""
    other = CreatorFactory()
    return MembershipFactory(creator=other, role=Role.OWNER).user


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture(autouse=True)
def _tenant_scope_enforced(settings):  # type: ignore[no-untyped-def]
    """Tests always run with the tenant-scope check raising (accounts.tenancy), whatever
    DEBUG the environment sets: a forgotten tenant filter fails the suite."""
    settings.TENANT_SCOPE_ENFORCE = True
