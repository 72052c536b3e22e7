from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from accounts.models import Role
from tests.factories import MembershipFactory


@pytest.fixture
def manager(creator):  # type: ignore[no-untyped-def]
    return MembershipFactory(creator=creator, role=Role.MANAGER).user


@pytest.fixture
def login():  # type: ignore[no-untyped-def]
    """A browser session signed in as `user` (force_login skips axes' request checks)."""

    def make(user) -> Client:  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks in-process, as a worker would, so their email lands in the outbox."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
