from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def celery_eager():  # type: ignore[no-untyped-def]
    """Run Celery tasks in-process, so a test sees the email a request sends."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
