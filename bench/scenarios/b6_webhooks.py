"""B6: subscription events fanned out to 2 webhook endpoints on a local receiver, through
the outbox, real Celery workers and the product's signed deliveries, against the
`django-webhook` package doing the same fan-out (post_save of each event → one task per
webhook) with its own settings, database, queue and worker, in the same run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

import dj_database_url
import psycopg
from django.conf import settings
from django.db import transaction

from bench.data import subscriptions_generate, tenant_create
from bench.harness import (
    Process,
    Result,
    Scenario,
    broker_purge,
    celery_worker,
    free_port,
    wait_for_port,
    wait_until,
)
from subscriptions.models import Subscription
from subscriptions.outbox import event_record
from webhooks.services import webhook_endpoint_create

CONCURRENCY = 2


def deadline(scale: float) -> float:
    """How long each side is measured at most (`make bench` must end within 30 minutes);
    throughput is deliveries received / elapsed either way."""
    return 180.0 if scale >= 1 else 30.0


DJW_DATABASE_SUFFIX = "_djwebhook"


def _count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__bench/count", timeout=30) as a:
        return int(json.loads(a.read())["count"])


def _receiver(name: str) -> tuple[Process, int]:
    port = free_port()
    record = str(settings.BASE_DIR / "bench" / "logs" / f"{name}.jsonl")
    server = Process(
        [sys.executable, "-m", "bench.fakeserver", "--port", str(port), "--record", record],
        name=name,
    )
    wait_for_port(port)
    return server, port


def _ours(events: int, limit: float) -> dict[str, Any]:
    tenant = tenant_create(0, prefix="webhooks")
    subscriptions_generate(tenant, 1, status="ACTIVE")
    subscription = Subscription.objects.get(creator=tenant.creator)
    server, port = _receiver("b6-receiver-ours")
    for path in ("a", "b"):
        webhook_endpoint_create(
            creator=tenant.creator,
            url=f"http://127.0.0.1:{port}/hook/{path}",
            events=["subscription.status_changed"],
        )
    broker_purge()
    worker = celery_worker("b6-worker", queues="events,webhooks", concurrency=CONCURRENCY)
    try:
        time.sleep(3)  # let the worker connect before the clock starts
        start = time.time()
        for n in range(events):
            if time.time() - start > limit:
                break
            with transaction.atomic():
                event_record(
                    subscription=subscription,
                    type="subscription.status_changed",
                    data={"from": "ACTIVE", "to": "DELAYED", "n": n},
                )
        produced = time.time() - start
        done = wait_until(
            lambda: _count(port) >= 2 * events,
            timeout=max(1.0, limit - (time.time() - start)),
            every=0.5,
        )
        seconds = time.time() - start
        received = _count(port)
        rss = worker.peak_rss_mb()
    finally:
        worker.stop()
        server.stop()
        broker_purge()
    return {
        "deliveries": received,
        "seconds": seconds,
        "produce_seconds": produced,
        "complete": done,
        "worker_peak_rss_mb": rss,
    }


def _djwebhook_database() -> str:
    """A database of its own for django-webhook's run, migrated with its settings."""
    cfg = dj_database_url.parse(_url())
    name = f"{cfg['NAME']}{DJW_DATABASE_SUFFIX}"
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=int(cfg["PORT"] or 5432),
        user=cfg["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _url() -> str:
    import os

    return os.environ["DATABASE_URL"]


def _theirs(events: int, limit: float) -> dict[str, Any]:
    name = _djwebhook_database()
    env = {"DJANGO_SETTINGS_MODULE": "bench.djwebhook.settings", "DJWEBHOOK_DATABASE_NAME": name}
    import os

    full_env = {**os.environ, **env}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=full_env,
        check=True,
    )
    server, port = _receiver("b6-receiver-djwebhook")
    broker_purge()
    worker = celery_worker(
        "b6-djwebhook-worker", queues="djwebhook", concurrency=CONCURRENCY, env=env
    )
    try:
        time.sleep(3)
        producer = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.djwebhook.produce",
                str(events),
                str(limit),
                f"http://127.0.0.1:{port}/hook/a",
                f"http://127.0.0.1:{port}/hook/b",
            ],
            cwd=settings.BASE_DIR,
            env=full_env,
            capture_output=True,
            text=True,
            check=True,
        )
        started = json.loads(producer.stdout.strip().splitlines()[-1])
        done = wait_until(
            lambda: _count(port) >= 2 * events,
            timeout=max(1.0, limit - (time.time() - started["started"])),
            every=0.5,
        )
        seconds = time.time() - started["started"]
        received = _count(port)
        rss = worker.peak_rss_mb()
    finally:
        worker.stop()
        server.stop()
        broker_purge()
    return {
        "deliveries": received,
        "seconds": seconds,
        "produce_seconds": started["produced_seconds"],
        "complete": done,
        "worker_peak_rss_mb": rss,
    }


def run(scale: float) -> Result:
    from importlib.metadata import version

    events = int(20_000 * scale)
    limit = deadline(scale)
    ours = _ours(events, limit)
    theirs = _theirs(events, limit)
    ours_rate = ours["deliveries"] / ours["seconds"]
    theirs_rate = theirs["deliveries"] / theirs["seconds"]
    return Result(
        id="B6",
        title=f"{events:,} events fanned out to 2 webhook endpoints",
        metric="deliveries/s",
        value=round(ours_rate, 1),
        baseline_value=round(theirs_rate, 1),
        target="≥ 1.5 × baseline",
        better="higher",
        target_ratio=1.5,
        details={
            "events": events,
            "endpoints": 2,
            "ours": ours,
            "django_webhook": theirs,
            "worker_concurrency": CONCURRENCY,
            "deadline_s": limit,
            "baseline": f"django-webhook {version('django-webhook')} (post_save → fire_webhook "
            "task per webhook), own settings, database, queue and worker",
        },
        extra_checks={"ours_all_delivered_in_time": ours["complete"]},
    )


SCENARIO = Scenario("B6", "Webhook fan-out", run)
