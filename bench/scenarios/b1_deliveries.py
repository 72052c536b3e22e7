"""B1: status changes of one creator with 20 active rules (5 match each event), delivered
by real Celery workers on Redis to a local fake Mailchimp (the real adapter, through
PROVIDER_BASE_URLS), against the same number of no-op Celery tasks through the same
broker and workers (the per-task ceiling). A paced run at 100 events/s gives the commit →
provider latency under a steady load."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from bench import tasks as bench_tasks
from bench.data import Tenant, subscriptions_generate, tenant_create
from bench.harness import (
    Process,
    Result,
    Scenario,
    broker_purge,
    celery_worker,
    free_port,
    percentile,
    wait_for_port,
    wait_until,
)
from core.actors import Actor, ActorKind
from notifications.models import Integration
from segmentation.models import SegmentationDelivery
from segmentation.services import rule_create
from subscriptions.models import Status, Subscription, SubscriptionEvent
from subscriptions.services import subscription_cancel

RULES = 20
MATCHING = 5
# Deliveries wait on PostgreSQL, Redis and HTTP far more than they compute: four pool
# processes per worker keep the two cores busy. The ceiling uses the same worker.
CONCURRENCY = 4


def _get(port: int, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"{}")


def _setup(tenant: Tenant) -> None:
    integration = Integration.objects.create(
        creator=tenant.creator,
        provider="mailchimp",
        name="Fake Mailchimp",
        credentials={"api_key": "0123456789abcdef0123456789abcdef-us1"},  # type: ignore[misc]
        status=Integration.Status.CONNECTED,
    )
    for i in range(RULES):
        # recurrence % 4 picks 5 of the 20 rules for every subscription.
        rule_create(
            creator=tenant.creator,
            data={
                "name": f"Rule {i}",
                "triggers": [Status.CANCELLED_BY_SELLER],
                "match": "all",
                "conditions": [
                    {
                        "field": "recurrence",
                        "op": "in",
                        "value": list(range(i % 4, 24, 4)),
                    }
                ],
                "actions": [
                    {"type": "add_to_list", "integration": str(integration.uuid), "list": f"l{i}"}
                ],
            },
        )


def _cancel_all(
    ids: list[int], rate: float | None, commits: dict[str, float], limit: float
) -> float:
    """Cancel each subscription in its own transaction, as a seller would; `commits` gets
    the moment each one committed, keyed by the subscriber's email."""
    rows = Subscription.objects.filter(pk__in=ids).select_related("subscriber").order_by("pk")
    start = time.perf_counter()
    for n, subscription in enumerate(rows.iterator(chunk_size=2000)):
        if time.perf_counter() - start > limit:
            break
        if rate:
            due = start + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        email = subscription.subscriber.email
        with transaction.atomic():
            # Registered first, so it runs right after COMMIT, before the publish.
            transaction.on_commit(lambda e=email: commits.__setitem__(e, time.time()))
            subscription_cancel(
                subscription=subscription,
                actor=Actor(ActorKind.MEMBER, "bench", "bench"),
                reason="bench",
            )
    return time.perf_counter() - start


def _latencies(port: int, record: str, commits: dict[str, float], since: float) -> list[float]:
    _get(port, "/__bench/dump", "POST")
    by_hash = {hashlib.md5(e.lower().encode()).hexdigest(): t for e, t in commits.items()}  # noqa: S324
    latencies = []
    with open(record) as lines:
        for line in lines:
            arrived, _method, path, _body = json.loads(line)
            if arrived < since:
                continue
            member = path.rsplit("/", 1)[-1]
            if member in by_hash:
                latencies.append(arrived - by_hash[member])
    return latencies


def _subscription_ids(tenant: Tenant, count: int, offset: int) -> list[int]:
    return list(
        Subscription.objects.filter(creator=tenant.creator, status=Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)[offset : offset + count]
    )


def run(scale: float) -> Result:
    wanted_events = int(20_000 * scale)
    paced_seconds = 20 if scale >= 1 else 5
    paced_events = 100 * paced_seconds
    # `make bench` must end within 30 minutes: the burst is measured for at most this long
    # (throughput = deliveries received / elapsed), whatever is left is purged.
    burst_deadline = 240 if scale >= 1 else 30
    paced_deadline = 90 if scale >= 1 else 20
    events = wanted_events
    expected = events * MATCHING
    tenant = tenant_create(0, prefix="deliveries")
    subscriptions_generate(tenant, events + paced_events + 10, status="ACTIVE")
    _setup(tenant)

    port = free_port()
    record = str(settings.BASE_DIR / "bench" / "logs" / "b1-provider.jsonl")
    base_urls = json.dumps({"mailchimp": f"http://127.0.0.1:{port}"})
    broker_purge()
    import sys

    server = Process(
        [sys.executable, "-m", "bench.fakeserver", "--port", str(port), "--record", record],
        name="b1-provider",
    )
    worker = celery_worker(
        "b1-worker",
        queues="events,deliveries",
        concurrency=CONCURRENCY,
        env={"PROVIDER_BASE_URLS": base_urls},
        include="bench.tasks",
    )
    try:
        wait_for_port(port)
        # Ceiling: the same number of no-op tasks through the same broker and workers.
        bench_tasks.reset()
        bench_tasks.noop.delay()
        wait_until(lambda: bench_tasks.done() >= 1, timeout=60)  # the worker is up
        bench_tasks.reset()
        start = time.perf_counter()
        for _ in range(expected):
            if time.perf_counter() - start > burst_deadline:
                break
            bench_tasks.noop.apply_async(retry=False)
        # Sending is part of the ceiling, as publishing is part of the product's figure.
        wait_until(
            lambda: bench_tasks.done() >= expected,
            timeout=max(1.0, burst_deadline - (time.perf_counter() - start)),
        )
        noop_seconds = time.perf_counter() - start
        bench_tasks_done = bench_tasks.done()
        noop_rate = bench_tasks_done / noop_seconds
        broker_purge()

        # Burst: every status change as fast as one producer commits them.
        commits: dict[str, float] = {}
        began = time.time()
        produce_seconds = _cancel_all(
            _subscription_ids(tenant, events, 0), None, commits, burst_deadline
        )
        finished = (
            wait_until(
                lambda: _get(port, "/__bench/count")["count"] >= len(commits) * MATCHING,
                timeout=max(1.0, burst_deadline - (time.time() - began)),
                every=0.5,
            )
            and len(commits) == events
        )
        end = time.time()
        delivered = _get(port, "/__bench/count")["count"]
        broker_purge()  # a backlog left by a missed deadline must not delay the paced run
        last_event = SubscriptionEvent.objects.filter(creator=tenant.creator).aggregate(
            last=Max("processed_at")
        )["last"]
        events_seconds = (last_event.timestamp() - began) if last_event else end - began
        events_done = SubscriptionEvent.objects.filter(
            creator=tenant.creator, processed_at__isnull=False
        ).count()
        burst = _latencies(port, record, commits, began)

        # Paced: 100 events/s offered.
        paced_commits: dict[str, float] = {}
        paced_began = time.time()
        _cancel_all(
            _subscription_ids(tenant, paced_events, 0), 100.0, paced_commits, paced_deadline
        )
        base_count = _get(port, "/__bench/count")["count"]
        paced_done = wait_until(
            lambda: (
                _get(port, "/__bench/count")["count"] >= base_count + len(paced_commits) * MATCHING
            ),
            timeout=paced_deadline,
            every=0.5,
        )
        paced = _latencies(port, record, paced_commits, paced_began)
        # Deliveries still missing at the deadline count with the deadline as latency
        # (a lower bound), so a missed deadline cannot flatter the percentiles.
        missing = len(paced_commits) * MATCHING - len(paced)
        cutoff = time.time()
        paced += (
            [cutoff - t for t in sorted(paced_commits.values())[-missing:]] if missing > 0 else []
        )
        worker_rss = worker.peak_rss_mb()
    finally:
        worker.stop()
        server.stop()
        broker_purge()

    deliveries_rate = delivered / (end - began)
    failed = SegmentationDelivery.objects.filter(
        creator=tenant.creator, status__in=["failed", "gave_up", "retrying"]
    ).count()
    p95_paced = percentile(paced, 95)
    return Result(
        id="B1",
        title=f"{events:,} status changes → {expected:,} deliveries to a fake provider",
        metric="deliveries/s",
        value=round(deliveries_rate, 1),
        baseline_value=round(noop_rate, 1),
        target="≥ 0.7 × baseline; p95 < 1 s at 100 events/s",
        better="higher",
        target_ratio=0.7,
        details={
            "events": events,
            "rules": RULES,
            "matching_rules_per_event": MATCHING,
            "deliveries_expected": expected,
            "deliveries_received": delivered,
            "deliveries_failed_or_retrying": failed,
            "all_delivered_in_time": finished,
            "burst_deadline_s": burst_deadline,
            "burst_seconds": round(end - began, 1),
            "paced_all_delivered": paced_done,
            "events_committed": len(commits),
            "events_processed": events_done,
            "events_per_second": round(events_done / events_seconds, 1),
            "producer_commits_per_second": round(len(commits) / produce_seconds, 1),
            "noop_tasks_done": bench_tasks_done,
            "noop_seconds": round(noop_seconds, 1),
            "paced_events_committed": len(paced_commits),
            "latency_p50_s": round(percentile(burst, 50), 3),
            "latency_p95_s": round(percentile(burst, 95), 3),
            "paced_events": paced_events,
            "paced_rate_offered": 100,
            "paced_latency_p50_s": round(percentile(paced, 50), 3),
            "paced_latency_p95_s": round(p95_paced, 3),
            "worker_concurrency": CONCURRENCY,
            "worker_peak_rss_mb": worker_rss,
            "provider": "mailchimp adapter → local asyncio HTTP server",
            "baseline": f"{expected:,} no-op Celery tasks (one Redis INCR each), same broker "
            "and worker",
        },
        extra_checks={
            "paced_p95_under_1s": bool(paced) and p95_paced < 1.0,
            "worker_rss_under_300mb": worker_rss < 300,
        },
    )


SCENARIO = Scenario("B1", "Event → delivery throughput and latency", run)
