"""M1: 50 concurrent accepts of one reactivate-and-charge link → exactly 1 charge and 1
transition, no 500.

The link is served by a real gunicorn (4 processes x 4 threads, so up to 16 accepts run
at the same moment, each on its own database connection) against the test database.
Each of 50 clients first opens the page (its own CSRF cookie), then all 50 POST
`decision=accept` at once.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from reactivation import services
from reactivation.models import ReactivationRequest
from subscriptions.billing import add_months
from subscriptions.models import CancellationSource, Charge, Status, Subscription
from subscriptions.services import subscription_cancel
from tests.factories import SubscriptionFactory, actor_for, labelled_actor
from tests.reliability.procs import BIN, child_env, http, start_redis, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

CLIENTS = 50
LINK = re.compile(r"/reactivate/([A-Za-z0-9_-]{43})/")
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def _lapsed_subscription() -> Subscription:
    """Paid through ten days ago, then cancelled by the seller: accepting today charges."""
    today = timezone.localdate()
    anchor = add_months(today - timedelta(days=10), -2)
    subscription = SubscriptionFactory(
        billing_anchor=anchor,
        started_at=timezone.now() - (today - anchor),
        paid_through=add_months(anchor, 2),
        next_charge_date=add_months(anchor, 2),
        recurrence=2,
        payment_method="pm_sandbox_ok",
    )
    return subscription_cancel(
        subscription=subscription, actor=actor_for(CancellationSource.SELLER), reason="m1"
    )


def _start_gunicorn(procs: Any, env: dict[str, str]) -> str:
    from tests.reliability.procs import free_port

    port = free_port()
    proc = procs.start(
        "web",
        [
            str(BIN / "gunicorn"), "config.wsgi:application", "--preload",
            "--workers", "4", "--worker-class", "gthread", "--threads", "4",
            "--bind", f"127.0.0.1:{port}", "--timeout", "60",
        ],
        env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if not proc.alive():
            raise RuntimeError("gunicorn exited:\n" + proc.log_tail())
        return http("GET", f"{base}/_chaos/ping")[0] == 200

    wait_until(up, timeout=60, interval=0.3, what="gunicorn")
    return base


def test_50_concurrent_accepts_charge_once_and_transition_once(live_db_url, procs, settings):
    from config.celery import app

    subscription = _lapsed_subscription()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the email is sent in this process
    try:
        request = services.reactivation_request_create(
            subscription=subscription, mode="reactivate_and_charge", actor=labelled_actor("m1")
        )
    finally:
        app.conf.task_always_eager = previous
    token = LINK.search(mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
    env = child_env(
        database_url=live_db_url,
        redis_url=start_redis(procs),
        LOG_LEVEL="WARNING",
        # All 50 clients share 127.0.0.1: lift the per-IP link limit (B2 tests that one),
        # so this row measures concurrent accepts, not the limiter.
        REACTIVATION_LINK_RATE_LIMIT="1000",
    )
    base = _start_gunicorn(procs, env)
    url = f"{base}/reactivate/{token}/"

    start = threading.Barrier(CLIENTS)
    answers: list[int] = []
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            status, headers, body = http("GET", url)
            assert status == 200, status
            cookie = headers["Set-Cookie"].split(";", 1)[0]
            csrf = CSRF_INPUT.search(body).group(1).decode()  # type: ignore[union-attr]
            form = f"csrfmiddlewaretoken={csrf}&decision=accept".encode()
            start.wait(timeout=60)
            status, _, _ = http(
                "POST",
                url,
                body=form,
                headers={
                    "Cookie": cookie,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            answers.append(status)
        except BaseException as exc:  # a client's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=accept) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors[:3]
    counts = Counter(answers)
    print(f"answers to {CLIENTS} concurrent accepts: {dict(counts)}")
    assert len(answers) == CLIENTS
    assert counts[200] == 1, counts
    assert set(counts) <= {200, 409, 410}, counts  # never a 500 (nor a dropped connection)
    request.refresh_from_db()
    assert request.status == ReactivationRequest.Status.ACCEPTED
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    charges = Charge.objects.filter(subscription=subscription, kind="reactivation")
    assert charges.count() == 1
    assert charges.get().status == Charge.Status.SUCCEEDED
    transitions = subscription.events.filter(type="subscription.status_changed", data__to="ACTIVE")
    assert transitions.count() == 1
    assert subscription.events.filter(type="subscription.reactivated").count() == 1
