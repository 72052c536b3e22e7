from __future__ import annotations

import pytest

from config.celery import app as celery_app


@pytest.fixture
def celery_eager():  # type: ignore[no-untyped-def]
    """Run tasks inline, like a worker would, without a broker."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous
