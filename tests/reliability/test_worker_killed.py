"""R3: a Celery worker SIGKILLed with 100 tasks in flight, and a poison event that kills
its worker process every time it is processed.

The worker is real (`celery -A config worker`, prefork, acks_late) on a private Redis
broker and the test database; the probe consumer of the chaos settings sleeps 50 ms per
event so that tasks are in flight when the worker dies.
"""

from __future__ import annotations

import pytest
import redis

from subscriptions.models import SubscriptionEvent
from tests.reliability.factories import active_subscriptions, pending_events
from tests.reliability.procs import (
    child_env,
    send_events,
    send_sweep,
    start_redis,
    start_worker,
    sweep_until,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

IN_FLIGHT = 100


def test_worker_sigkilled_with_100_tasks_in_flight_completes_all_after_restart(live_db_url, procs):
    (subscription,) = active_subscriptions(1)
    ids = [e.pk for e in pending_events(subscription, IN_FLIGHT)]
    events = SubscriptionEvent.objects.filter(pk__in=ids)
    broker = start_redis(procs)
    # 2 processes x prefetch 50: the worker takes all 100 messages at once (unacked).
    env = child_env(
        database_url=live_db_url,
        redis_url=broker,
        CHAOS_CONSUMER_SLEEP_MS="50",
        CELERY_PREFETCH_MULTIPLIER="50",
    )
    worker = start_worker(procs, env, name="r3a")
    # One task per event, as the web publishes them after each commit (the sweeper would
    # batch them into a single message).
    send_events(broker, ids)
    wait_until(
        lambda: events.filter(processed_at__isnull=False).count() >= 5,
        timeout=90,
        what="first events processed",
    )
    client = redis.Redis.from_url(broker)
    unacked = client.hlen("unacked")  # delivered to the worker, not yet acknowledged
    worker.kill()
    done_before_kill = events.filter(processed_at__isnull=False).count()
    assert unacked >= IN_FLIGHT - done_before_kill - 5, (unacked, done_before_kill)
    assert done_before_kill < IN_FLIGHT
    print(f"at the kill: {unacked} messages unacknowledged, {done_before_kill} events done")

    start_worker(procs, env, name="r3b")
    sweep_until(
        broker,
        lambda: events.filter(processed_at__isnull=False).count() == IN_FLIGHT,
        timeout=120,
    )
    assert events.filter(failed_at__isnull=False).count() == 0


def test_poison_event_stops_after_max_attempts_and_others_complete(live_db_url, procs):
    max_attempts = 4
    (subscription,) = active_subscriptions(1)
    (poison,) = pending_events(subscription, 1, chaos="crash")
    normal_ids = [e.pk for e in pending_events(subscription, 20)]
    broker = start_redis(procs)
    env = child_env(
        database_url=live_db_url,
        redis_url=broker,
        OUTBOX_MAX_ATTEMPTS=str(max_attempts),
    )
    worker = start_worker(procs, env, name="r3poison")
    send_sweep(broker)

    def settled() -> bool:
        poison.refresh_from_db()
        done = SubscriptionEvent.objects.filter(pk__in=normal_ids, processed_at__isnull=False)
        return poison.failed_at is not None and done.count() == len(normal_ids)

    # Each crash requeues the message (reject_on_worker_lost); the sweeper would also
    # re-publish it, and must stop doing so once it is recorded as failed.
    sweep_until(broker, settled, timeout=150, every=5)
    client = redis.Redis.from_url(broker)
    assert int(client.get(f"chaos:crash:{poison.pk}") or 0) == max_attempts
    assert poison.processed_at is None
    assert poison.publish_attempts == max_attempts + 1
    assert f"gave up after {max_attempts} attempts" in poison.last_error
    assert "worker processing it died" in poison.last_error

    send_sweep(broker)
    send_sweep(broker)
    wait_until(lambda: client.llen("events") == 0, timeout=30, what="queue drained")
    assert int(client.get(f"chaos:crash:{poison.pk}") or 0) == max_attempts
    assert worker.alive(), "the worker's main process must survive its pool processes dying"
