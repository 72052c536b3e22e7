"""R2: Redis (broker and cache) SIGKILLed while status changes flow, once with
append-only persistence and once without.

Real processes on the test database: a private `redis-server` (broker + Django cache of
the web and the worker), gunicorn (2 workers) taking `POST /api/v1/subscriptions/{id}/
cancel` from 4 clients, a Celery worker running the event consumers and the webhook
sender, and a webhook receiver on 127.0.0.1 that counts what arrives. The test plays
Celery beat: every 5 s it asks for the outbox sweeper (events unprocessed after 15 s)
and the due-webhooks job.

The worker runs under a supervisor that restarts it when it exits, as in production
(docker-compose's `restart: unless-stopped`): on some connection losses Celery's worker
exits ("Unrecoverable error") instead of reconnecting, and without the restart nothing
would drain.

Half-way through, Redis is SIGKILLed and restarted OUTAGE seconds later on the same port
(with `appendonly yes` it reloads its data; without, it comes back empty: every queued
message is lost). Guarantees:
- the web answers every write 200 while Redis is down (no 5xx: the API throttle and the
  rate limiter fail open, publishing is left to the outbox sweeper);
- 0 events lost: every change has its event, every event is processed;
- 0 duplicate deliveries: exactly one delivery row and one received POST per event;
- the backlog (every change made before Redis returned) is processed and delivered
  within 60 s of Redis returning; then everything is.

R2_EVENTS sets the number of changes per run. The row is stated for 5,000 in all
(R2_EVENTS=2500: 2,500 with persistence, 2,500 without); CI runs 500 + 500, because on
two cores the stack processes about 10-15 changes a second end to end (web, worker,
webhook) and the full size takes several minutes per run.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone

from accounts.services import creator_create
from subscriptions.models import SubscriptionEvent
from tests.reliability.factories import active_subscriptions
from tests.reliability.procs import (
    BIN,
    Proc,
    ProcessGroup,
    child_env,
    free_port,
    http,
    start_gunicorn,
    start_redis,
    wait_until,
)
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(420)]

EVENTS = int(os.environ.get("R2_EVENTS", "500"))
OUTAGE = 5.0
DRAIN_LIMIT = 60.0
CLIENTS = 4


class Receiver:
    """Counts webhook POSTs per (path, message id)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out as two writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK (40 ms on Linux) on every answer.
            disable_nagle_algorithm = True

            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.counts[(self.path, json.loads(body)["id"])] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _redis(group: ProcessGroup, port: int, data_dir: Path, *, appendonly: bool) -> Proc:
    data_dir.mkdir(exist_ok=True)
    proc = group.start(
        "broker",
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes" if appendonly else "no", "--dir", str(data_dir),
        ],
        os.environ.copy(),
    )  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    wait_until(lambda: proc.alive() and client.ping(), timeout=15, what="redis-server")
    client.close()
    return proc


def _worker(group: ProcessGroup, env: dict[str, str]) -> Proc:
    return group.start(
        "worker",
        [
            str(BIN / "celery"), "-A", "config", "worker", "-Q", "events,billing,webhooks",
            "-c", "3", "--pool", "prefork", "-n", f"r2-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
        ],
        env,
    )  # fmt: skip


class Beat:
    """What Celery beat does, every second, best effort (Redis may be down)."""

    JOBS = (("outbox_sweep", "events"), ("webhook_deliveries_due", "webhooks"))
    EVERY = 5.0  # production: SCHEDULED_JOB_INTERVAL, 30 s

    def __init__(self, broker_url: str) -> None:
        from celery import Celery

        self.app = Celery(broker=broker_url, set_as_current=False)
        self.app.conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 2}
        self.stop = threading.Event()
        self.ticks = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.EVERY):
            self.ticks += 1
            for job, queue in self.JOBS:
                # Broker down: beat logs it and tries at the next tick.
                try:
                    self.app.send_task(
                        "subscriptions.tasks.run_scheduled_job",
                        args=(job,),
                        queue=queue,
                        retry=False,
                    )
                except Exception as exc:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {exc!r}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.app.close()


@pytest.mark.parametrize("appendonly", [True, False], ids=["appendonly", "no-persistence"])
def test_redis_sigkilled_mid_flow_loses_and_duplicates_nothing(
    appendonly, live_db_url, procs, settings, tmp_path
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    receiver = Receiver()
    procs.cleanups.append(receiver.close)
    made = creator_create(name="R2", owner_email="r2@example.com", password="pass-word-123")
    creator = made.creator
    endpoint, _ = webhook_endpoint_create(
        creator=creator, url=f"{receiver.url}/in", events=["subscription.status_changed"]
    )
    subscriptions = active_subscriptions(EVENTS, creator)

    port = free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    broker = _redis(procs, port, tmp_path / "redis", appendonly=appendonly)
    env = child_env(
        database_url=live_db_url,
        redis_url=broker_url,
        CHAOS_REDIS_URL=start_redis(procs),  # the probe's own, never killed
        WEBHOOKS_ALLOW_PRIVATE_TARGETS="1",
        API_RATE_LIMIT_PER_MINUTE="1000000",
        OUTBOX_SWEEP_AFTER_SECONDS="15",
    )
    base = start_gunicorn(procs, env, workers=2)
    worker = _worker(procs, env)
    # As in production (docker-compose's restart policy): Celery's worker can exit on a
    # lost broker connection (kombu's Redis channel, closing, restores unacked late-ack
    # messages through a connection already gone: "Unrecoverable error: AttributeError").
    procs.supervise(worker)
    beat = Beat(broker_url)
    procs.cleanups.append(beat.close)

    auth = {
        "Authorization": f"Bearer {made.api_key.raw_key}",
        "Content-Type": "application/json",
    }
    answers: list[tuple[float, int, bytes]] = []
    half = threading.Event()

    def cancel(sub_uuid: str) -> None:
        url = f"{base}/api/v1/subscriptions/{sub_uuid}/cancel"
        status, _, body = http("POST", url, headers=auth, body=b'{"reason": "r2"}')
        answers.append((time.monotonic(), status, body[:300]))
        if len(answers) >= EVENTS // 2:
            half.set()

    outage: dict[str, Any] = {}

    def kill_redis() -> None:
        half.wait()
        broker.kill()  # SIGKILL
        outage["down"] = time.monotonic()
        time.sleep(OUTAGE)
        _redis(procs, port, tmp_path / "redis", appendonly=appendonly)
        outage["up"] = time.monotonic()
        outage["up_wall"] = timezone.now()

    killer = threading.Thread(target=kill_redis)
    killer.start()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(cancel, [str(s.uuid) for s in subscriptions]))
    flow_ended = time.monotonic()
    killer.join()
    down, up = outage["down"], outage["up"]

    # The web answered every write, during the outage too.
    during = [a for a in answers if down <= a[0] <= up]
    bad = Counter(status for _, status, _ in answers if status != 200)
    assert not bad, (bad, [b for _, s, b in answers if s != 200][:3])
    assert len(during) > 0, "no request fell inside the outage: the test proves nothing"

    events = SubscriptionEvent.objects.filter(creator=creator, type="subscription.status_changed")
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert events.count() == EVENTS

    # The backlog: every change made before Redis returned, processed and delivered.
    backlog = events.filter(occurred_at__lte=outage["up_wall"])
    backlog_ids = {str(u) for u in backlog.values_list("uuid", flat=True)}

    def backlog_drained() -> bool:
        with receiver.lock:
            received = {msg_id for (_, msg_id) in receiver.counts}
        return (
            not backlog.filter(processed_at__isnull=True).exists()
            and not deliveries.filter(event__in=backlog)
            .exclude(status=WebhookDelivery.Status.SUCCEEDED)
            .exists()
            and backlog_ids <= received
        )

    def state() -> str:
        """What is still in the way, for the failure message."""
        with receiver.lock:
            received = {msg_id for (_, msg_id) in receiver.counts}
        stuck_events = list(
            events.filter(processed_at__isnull=True).values_list(
                "pk", "occurred_at", "publish_attempts", "failed_at", "last_error"
            )[:5]
        )
        stuck = list(
            deliveries.exclude(status=WebhookDelivery.Status.SUCCEEDED).values_list(
                "pk", "status", "attempts", "next_attempt_at", "last_error"
            )[:5]
        )
        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
            queues = {q: client.llen(q) for q in ("events", "webhooks", "billing")}
            client.close()
        except redis.RedisError as exc:
            queues = {"error": repr(exc)}
        return (
            f"now {timezone.now():%H:%M:%S}, Redis back at {outage['up_wall']:%H:%M:%S}; "
            f"unprocessed events {events.filter(processed_at__isnull=True).count()} "
            f"(first: {stuck_events}); deliveries by status "
            f"{Counter(deliveries.values_list('status', flat=True))} (not succeeded: {stuck}); "
            f"received {len(received)}, backlog not received {len(backlog_ids - received)}; "
            f"queues {queues}; worker alive {worker.alive()}, restarts {worker.restarts}; "
            f"beat ticks {beat.ticks}, "
            f"beat errors {beat.errors[-3:]}\n{procs.logs()}"
        )

    wait_until(
        backlog_drained,
        timeout=DRAIN_LIMIT + 120,
        interval=0.5,
        what="backlog",
        describe=state,
    )
    backlog_done = time.monotonic() - up

    def drained() -> bool:
        return (
            events.filter(processed_at__isnull=False).count() == EVENTS
            and deliveries.filter(status=WebhookDelivery.Status.SUCCEEDED).count() == EVENTS
            and len(receiver.counts) == EVENTS
        )

    wait_until(drained, timeout=180, interval=0.5, what="everything delivered", describe=state)
    print(
        f"{EVENTS} changes in {flow_ended - started:.1f}s, {len(during)} answered 200 while "
        f"Redis was down; the backlog of {len(backlog_ids)} was drained {backlog_done:.1f}s "
        f"after Redis returned; all delivered {time.monotonic() - flow_ended:.1f}s after "
        f"the last change; the worker was restarted {worker.restarts} time(s)"
    )
    assert backlog_done <= DRAIN_LIMIT

    # 0 lost, 0 duplicates: one delivery row and one POST per event, none failed.
    event_ids = {str(u) for u in events.values_list("uuid", flat=True)}
    assert {msg_id for (_, msg_id) in receiver.counts} == event_ids
    assert set(receiver.counts.values()) == {1}, Counter(receiver.counts.values())
    assert all(path == "/in" for path, _ in receiver.counts)
    assert deliveries.count() == EVENTS
    assert events.filter(failed_at__isnull=False).count() == 0
    # Still no duplicate a little later (a re-published message arriving late).
    time.sleep(3)
    assert set(receiver.counts.values()) == {1}
