from __future__ import annotations

import os

import pytest

from accounts.models import Role
from tests.factories import CreatorFactory, MembershipFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise pytest.UsageError("CI must run on PostgreSQL: set DATABASE_URL")
    if IN_CI and not os.environ.get("REDIS_URL"):
        raise pytest.UsageError("CI must run with Redis: set REDIS_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` without services (SQLite, no Redis) skips what needs the real ones:
    row locks and concurrent transactions (`postgres`), a shared counter across
    processes (`redis`). CI always has both, so nothing is skipped there."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    missing = {
        "postgres": None if on_postgres else "needs PostgreSQL (set DATABASE_URL)",
        "redis": None if settings.REDIS_URL else "needs Redis (set REDIS_URL)",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


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
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    # Factories set real passwords; PBKDF2 at production strength would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tenant_scope_enforced(settings):  # type: ignore[no-untyped-def]
    """Tests always run with the tenant-scope check raising (core.tenancy), whatever
    DEBUG the environment sets: a forgotten tenant filter fails the suite."""
    settings.TENANT_SCOPE_ENFORCE = True
