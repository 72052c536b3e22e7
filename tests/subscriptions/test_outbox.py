"""The transactional outbox (SPEC §4.5) with a real Redis and a real Celery worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from subscriptions import outbox, tasks
from subscriptions.jobs import outbox_sweep
from subscriptions.models import SubscriptionEvent
from subscriptions.services import subscription_cancel
from tests.conftest import require_service
from tests.factories import SubscriptionFactory, actor_for
from tests.redis_server import OwnRedis, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    require_service(shutil.which("redis-server") is not None, "redis-server")
    redis = OwnRedis(free_port())
    redis.start()
    previous = celery_app.conf.broker_url
    _point_celery_at(redis.url)
    try:
        yield redis
    finally:
        redis.stop()
        _point_celery_at(previous)


def _point_celery_at(url: str | None) -> None:
    """Use another broker in this process: drop the pools built for the old one, and
    kombu's process-wide producer pools, which keep the closed one (even an eager
    `apply_async` acquires a producer: later tests would get "Acquire on closed pool")."""
    celery_app.conf.broker_url = url
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu_pools.reset()


def _wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@override_settings(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_event_committed_while_redis_is_down_is_processed_after_it_returns(own_redis, tmp_path):
    subscription = SubscriptionFactory()
    own_redis.stop()

    # The web request commits its change although the broker is unreachable.
    started = time.monotonic()
    cancelled = subscription_cancel(
        subscription=subscription, actor=actor_for("seller"), reason="test"
    )
    assert time.monotonic() - started < 5
    event = cancelled.events.get(type="subscription.status_changed")
    assert event.processed_at is None

    own_redis.start()
    assert outbox_sweep() >= 1

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": own_redis.url,
        "REDIS_URL": own_redis.url,
        "VAR_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "events"),
            *("--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        processed = _wait_for(
            lambda: SubscriptionEvent.objects.get(pk=event.pk).processed_at is not None, 60
        )
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
    assert processed, stderr.decode()[-3000:]


@pytest.mark.django_db
@override_settings(OUTBOX_MAX_ATTEMPTS=3)
def test_event_whose_processing_keeps_crashing_is_recorded_failed(monkeypatch):
    calls: list[int] = []

    def crashing_consumer(event: SubscriptionEvent) -> None:
        calls.append(event.pk)
        raise RuntimeError("consumer bug")

    monkeypatch.setitem(outbox._CONSUMERS, "crashing", crashing_consumer)
    with monkeypatch.context() as m:
        m.setattr(outbox, "publish_many", lambda ids: None)  # no broker in this test
        subscription = SubscriptionFactory()
        subscription_cancel(subscription=subscription, actor=actor_for("customer"))
    event = subscription.events.get()

    for _ in range(settings.OUTBOX_MAX_ATTEMPTS):
        with pytest.raises(RuntimeError, match="consumer bug"):
            tasks.process_event(event.pk)
    tasks.process_event(event.pk)  # one more delivery: given up, consumer not called
    tasks.process_event(event.pk)

    event.refresh_from_db()
    assert len(calls) == settings.OUTBOX_MAX_ATTEMPTS
    assert event.failed_at is not None and event.processed_at is None
    assert "gave up after 3 attempts" in event.last_error
    # The sweeper leaves a failed event alone.
    with override_settings(OUTBOX_SWEEP_AFTER_SECONDS=0):
        published: list[list[int]] = []
        monkeypatch.setattr(outbox, "publish_many", published.append)
        outbox_sweep()
    assert event.pk not in [pk for batch in published for pk in batch]


@pytest.mark.django_db
def test_batched_events_are_written_in_one_insert_and_published_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    published: list[list[int]] = []
    monkeypatch.setattr(outbox, "publish_many", published.append)
    subs = SubscriptionFactory.create_batch(3)
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with outbox.events_batched() as batch:
            for sub in subs:
                outbox.event_record(subscription=sub, type="charge.succeeded", data={"n": 1})
            assert SubscriptionEvent.objects.count() == 0  # not yet written
        assert len(batch) == 3
    assert SubscriptionEvent.objects.filter(type="charge.succeeded").count() == 3
    assert sorted(published[0]) == sorted(e.pk for e in batch)
