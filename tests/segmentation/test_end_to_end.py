"""End to end with a real Celery worker (prefork, against the real Redis and the test
database) and local fake providers: cancellations reach each real provider adapter's
spec-built fake (tests/notifications/providers/fakes, one run per entry of `FAKES`)
with exactly one correct effect per matching subscription, and reach the test
provider once each also when the worker is SIGKILLed mid-run and restarted."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notifications.models import Integration
from notifications.providers import provider_class
from segmentation import jobs
from segmentation.models import SegmentationDelivery
from segmentation.services import rule_create
from subscriptions import jobs as subscription_jobs
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel
from tests.conftest import require_service
from tests.factories import (
    CreatorFactory,
    PlanFactory,
    SubscriberFactory,
    SubscriptionFactory,
    actor_for,
)
from tests.notifications.providers.fakes import FAKES, FakeProvider
from tests.segmentation.factories import IntegrationFactory
from tests.segmentation.provider import FakeProviderServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOTAL, MATCHING = 200, 120
WORKER_ARGS = ["-Q", "events,deliveries", "--pool=prefork", "-c", "2"]


def _redis_ready() -> bool:
    url = os.environ.get("REDIS_URL", "")
    if not url.startswith("redis://"):
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        command = [
            str(Path(sys.executable).with_name("celery")),
            "-A", "config", "worker", *WORKER_ARGS,
            "--include", "tests.segmentation.provider",
            "--without-gossip", "--without-mingle", "-l", "INFO",
            "-n", f"segmentation-e2e-{os.getpid()}@%h",
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=settings.BASE_DIR,
                start_new_session=True,  # its own process group: SIGKILL hits all its children
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            if " ready." in text:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{text[-3000:]}")
            time.sleep(0.2)
        raise AssertionError("worker did not start in 60 s")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def _worker_env(urls: dict[str, str]) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PROVIDER_BASE_URLS": json.dumps(urls),
    }


def _services_ready() -> None:
    require_service(_redis_ready(), "Redis (REDIS_URL)")
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    import redis

    # Our own Redis database (REDIS_URL's number): drop queued leftovers of earlier tests.
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


@pytest.fixture
def e2e(tmp_path: Path, settings: Any) -> Iterator[tuple[FakeProviderServer, Worker]]:
    _services_ready()
    server = FakeProviderServer()
    url = server.start()
    settings.PROVIDER_BASE_URLS = {"testmail": url}
    worker = Worker(_worker_env({"testmail": url}), tmp_path / "worker.log")
    yield server, worker
    worker.stop()
    server.stop()


@pytest.fixture
def provider_e2e(
    request: pytest.FixtureRequest, tmp_path: Path, settings: Any
) -> Iterator[tuple[FakeProvider, Worker]]:
    """A provider's spec-built fake and a worker whose adapter calls go to it."""
    _services_ready()
    with FAKES[request.param]() as fake:
        settings.PROVIDER_BASE_URLS = {fake.provider: fake.url}
        worker = Worker(_worker_env({fake.provider: fake.url}), tmp_path / "worker.log")
        yield fake, worker
        worker.stop()


def _world(
    integration: Integration | None = None, action: dict[str, str] | None = None, total: int = TOTAL
) -> tuple[list[Subscription], set[str]]:
    creator = integration.creator if integration else CreatorFactory()
    integration = integration or IntegrationFactory(creator=creator)
    action = action or {"type": "add_tag", "tag": "churned"}
    matching = total * MATCHING // TOTAL
    rule_create(
        creator=creator,
        data={
            "name": "Churned VIPs",
            "triggers": ["CANCELLED_BY_SELLER"],
            "conditions": [{"field": "subscriber.email", "op": "ends_with", "value": "@VIP.test"}],
            "actions": [{**action, "integration": str(integration.uuid)}],
        },
    )
    plan = PlanFactory(product__creator=creator)
    subscriptions = []
    for i in range(total):
        domain = "vip.test" if i < matching else "example.com"
        subscriber = SubscriberFactory(creator=creator, email=f"s{i}@{domain}")
        subscriptions.append(SubscriptionFactory(plan=plan, subscriber=subscriber))
    return subscriptions, {f"s{i}@vip.test" for i in range(matching)}


def _cancel_all(subscriptions: list[Subscription]) -> dict[str, float]:
    committed = {}
    for subscription in subscriptions:
        subscription_cancel(subscription=subscription, actor=actor_for("seller"))
        committed[subscription.subscriber.email] = time.time()  # the service has committed
    return committed


def _tag_calls(server: FakeProviderServer) -> Counter[str]:
    return Counter(
        c.path.removeprefix("/contacts/").removesuffix("/tags")
        for c in server.calls_to("POST", "/tags")
    )


def _wait_until_done(server: FakeProviderServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = SegmentationDelivery.objects.filter(status="succeeded").count()
        if done >= MATCHING and len(_tag_calls(server)) >= MATCHING:
            return
        time.sleep(0.2)
    states = Counter(SegmentationDelivery.objects.values_list("status", flat=True))
    raise AssertionError(f"not done in {timeout} s: deliveries {dict(states)}")


def _assert_log(matching: set[str]) -> None:
    rows = list(SegmentationDelivery.objects.values_list("contact_email", "status"))
    assert len(rows) == len(matching)
    assert {email for email, _ in rows} == matching
    assert {status for _, status in rows} == {"succeeded"}


# Per provider: fewer subscriptions than the test provider's run, so ActiveCampaign's
# 5 requests a second (kept across the worker's processes) bounds the run to ~30 s.
PROVIDER_TOTAL = 100


def _action_for(fake: FakeProvider) -> tuple[dict[str, str], str, str]:
    """The rule's action for this provider and the effect it must have: a tag where the
    provider has tags (in an audience where tags need one), else a list."""
    adapter = provider_class(fake.provider)
    list_id = fake.seed_list("Customers")
    if adapter.supports_tags:
        action = {"type": "add_tag", "tag": "churned"}
        if adapter.tags_need_list:
            action["list"] = list_id
        return action, "add_tag", "churned"
    return {"type": "add_to_list", "list": list_id}, "add_to_list", list_id


@pytest.mark.parametrize("provider_e2e", sorted(FAKES), indirect=True)
def test_cancellations_reach_each_provider_once_each(provider_e2e: Any) -> None:
    fake, worker = provider_e2e
    action, effect, target = _action_for(fake)
    integration = IntegrationFactory(
        provider=fake.provider, credentials=fake.credentials(), name=fake.provider
    )
    subscriptions, matching = _world(integration, action, total=PROVIDER_TOTAL)
    worker.start()
    committed = _cancel_all(subscriptions)

    def applied() -> Counter[str]:
        with fake.lock:
            return Counter(
                e.email for e in fake.effects if (e.action, e.target) == (effect, target)
            )

    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        done = SegmentationDelivery.objects.filter(status="succeeded").count()
        if done >= len(matching) and len(applied()) >= len(matching):
            break
        time.sleep(0.2)
    else:
        states = Counter(SegmentationDelivery.objects.values_list("status", flat=True))
        raise AssertionError(f"{fake.provider}: not done in 150 s: deliveries {dict(states)}")
    time.sleep(1)  # anything extra would show up now

    assert applied() == Counter({email: 1 for email in matching})  # exactly once each
    _assert_log(matching)
    for email in matching:
        seen = fake.contact(email)
        assert seen is not None, email
        if effect == "add_tag":
            assert seen.tags == {"churned"}
            assert not {"subscribed", "pending"} & set(seen.lists.values())  # tags subscribe no one
        else:
            assert seen.lists == {target: integration.new_contact_status}
    others = {s.subscriber.email for s in subscriptions} - matching
    assert all(fake.contact(email) is None for email in others)
    assert not [c for c in fake.calls if c.status >= 500 or c.status == 429]

    first = {}
    for e in fake.effects:
        first.setdefault(e.email, e.at)
    latencies = sorted(first[e] - committed[e] for e in matching)
    print(
        f"\n{fake.provider}: {len(matching)} effects, {len(fake.calls)} provider calls "
        f"({len(fake.calls) / len(matching):.2f} a delivery); commit → effect median "
        f"{statistics.median(latencies) * 1000:.0f} ms, p95 "
        f"{latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms"
    )


def test_a_worker_killed_mid_run_loses_nothing(e2e: Any) -> None:
    server, worker = e2e
    server.delay = 0.03  # slow enough that other attempts are under way at the kill
    # The kill lands while the provider is answering the 30th tag call: that call has
    # arrived and tagged the contact, but its worker never learns it.
    server.hold_tag_call = 30
    subscriptions, matching = _world()
    worker.start()
    _cancel_all(subscriptions)
    assert server.held.wait(60), "the 30th tag call never came"
    worker.kill()
    server.release.set()
    states = Counter(SegmentationDelivery.objects.values_list("status", flat=True))
    sending_at_kill = states.get("sending", 0)
    calls_at_kill = sum(_tag_calls(server).values())
    assert calls_at_kill < MATCHING, "the kill came too late to test anything"
    assert sending_at_kill >= 1

    # Recovery as beat runs it once the dead worker's rows are 5 minutes old (time
    # travels for the periodic jobs only): events the dead worker had taken are
    # re-published, messages it had prefetched are queued again, and rows it left in
    # `sending` go back to pending. Then the worker is restarted.
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=True):
        subscription_jobs.outbox_sweep()
        jobs.deliveries_requeue_due()
    worker.start()
    _wait_until_done(server, timeout=120)
    time.sleep(1)
    calls = _tag_calls(server)
    assert set(calls) == matching  # none lost
    assert sum(calls.values()) == MATCHING  # none twice
    _assert_log(matching)  # each delivery logged once
    # Every attempt the kill cut short was attempted again, and that attempt first asked
    # the provider whether the tag was already there (it was, when the killed attempt's
    # call had arrived), instead of tagging blindly a second time.
    reattempted = SegmentationDelivery.objects.filter(attempts__gte=2).count()
    checks = len(server.calls_to("GET", "/tags"))
    assert reattempted == sending_at_kill
    assert checks == reattempted
    print(
        f"\nkilled after {calls_at_kill} provider calls with {sending_at_kill} deliveries "
        f"in flight ({dict(states)}); provider checked before re-sending: {checks}; "
        f"tag calls in all: {sum(calls.values())}"
    )
