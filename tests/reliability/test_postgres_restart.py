"""R4: PostgreSQL restarted mid-run.

A private cluster (initdb in a temporary directory, never the shared server) serves a
real gunicorn and a real Celery worker. Status changes go through the web before, during
and after the database is down: during the outage the web answers 503 with Retry-After
(never a 500 or a stack trace); within 30 s of the database returning, the web serves
again and the worker processes every event; every change that was answered 200 is there.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.reliability.procs import (
    PgCluster,
    child_env,
    http,
    run_django,
    start_gunicorn,
    start_redis,
    start_worker,
    sweep_until,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

RECOVERY_SECONDS = 30
CHANGES = 60

SEED = """
import json
from accounts.services import creator_create
from tests.reliability.factories import active_subscriptions
made = creator_create(name="Chaos", owner_email="chaos@example.com", password="pass-word-123")
subs = active_subscriptions(%d, made.creator)
print(json.dumps({"key": made.api_key.raw_key, "subscriptions": [s.pk for s in subs]}))
"""


def test_postgres_restart_mid_run_recovers_within_30s_and_loses_nothing(procs):
    cluster = PgCluster()
    procs.cleanups.append(cluster.destroy)
    cluster.init()
    cluster.start()
    cluster.create_database("sm")
    broker = start_redis(procs)
    env = child_env(database_url=cluster.url("sm"), redis_url=broker)
    run_django(env, "migrate", "--noinput", timeout=300)
    seed = json.loads(run_django(env, "shell", "-c", SEED % CHANGES).strip().splitlines()[-1])
    ids: list[int] = seed["subscriptions"]
    auth = {"Authorization": f"Bearer {seed['key']}"}
    base = start_gunicorn(procs, env, workers=2)
    start_worker(procs, env, name="r4")
    answers: list[int] = []

    def cancel(pk: int) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = http("POST", f"{base}/_chaos/subscriptions/{pk}/cancel")
        answers.append(status)
        return status, headers, body

    before, during, after, under_load = ids[:20], ids[20:25], ids[20:40], ids[40:]
    for pk in before:
        assert cancel(pk)[0] == 200

    cluster.stop("fast")
    try:
        for pk in during:
            status, headers, body = cancel(pk)
            assert status == 503, (status, body[:500])
            assert headers["Retry-After"] == "5"
            assert b"Traceback" not in body
        status, headers, body = http("GET", f"{base}/api/v1/products", headers=auth)
        assert status == 503, (status, body[:500])
        assert json.loads(body)["error"]["code"] == "service_unavailable"
        assert headers["Retry-After"] == "5"
    finally:
        cluster.start()
    back_at = time.monotonic()

    # The web recovers: the API and the status changes refused during the outage succeed.
    wait_until(
        lambda: http("GET", f"{base}/api/v1/products", headers=auth)[0] == 200,
        timeout=RECOVERY_SECONDS,
        interval=0.5,
        what="web after the restart",
    )
    for pk in after:
        assert cancel(pk)[0] == 200
    web_recovered = time.monotonic() - back_at

    # `pg_ctl restart -m fast` while two clients are changing statuses: a request cut off
    # mid-transaction answers 503 and is retried; a 409 on retry means the cut-off one
    # had committed. Never a 500.
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.map(lambda pk: (pk, cancel(pk)[0]), under_load)
        cluster.restart("fast")
        results = dict(first)
    restarted_at = time.monotonic()
    for pk, status in results.items():
        assert status in (200, 503), (pk, status)
        if status == 503:
            wait_until(
                lambda pk=pk: cancel(pk)[0] in (200, 409),
                timeout=RECOVERY_SECONDS,
                interval=0.5,
                what=f"change {pk} after pg_ctl restart",
            )
    assert time.monotonic() - restarted_at < RECOVERY_SECONDS

    # The worker recovers: every event is processed (the sweeper re-publishes any whose
    # processing failed while the database was down).
    def processed() -> int:
        with psycopg.connect(cluster.url("sm"), connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM subscriptions_subscriptionevent "
                "WHERE type = 'subscription.status_changed' AND processed_at IS NOT NULL"
            ).fetchone()
        return int(row[0]) if row else 0

    sweep_until(broker, lambda: processed() == CHANGES, timeout=RECOVERY_SECONDS)
    worker_recovered = time.monotonic() - back_at
    assert web_recovered < RECOVERY_SECONDS
    assert worker_recovered < RECOVERY_SECONDS

    # Nothing committed is lost: each change answered 200 is there with its one event.
    with psycopg.connect(cluster.url("sm"), connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT s.id, s.status, count(e.id) FROM subscriptions_subscription s "
            "LEFT JOIN subscriptions_subscriptionevent e ON e.subscription_id = s.id "
            "AND e.type = 'subscription.status_changed' GROUP BY s.id, s.status"
        ).fetchall()
    state = {pk: (status, events) for pk, status, events in rows}
    assert all(state[pk] == ("CANCELLED_BY_SELLER", 1) for pk in ids), state
    assert not set(answers) - {200, 409, 503}, answers
    print(f"web recovered in {web_recovered:.1f}s, worker in {worker_recovered:.1f}s")
