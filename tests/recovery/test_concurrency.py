"""Twenty simultaneous submissions of the payment page charge once (SPEC §4.6).

Real threads, each with its own PostgreSQL connection, against a gateway that takes
its time answering (so the submissions really overlap the charge in flight)."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connections
from django.test import Client

from subscriptions.gateways import register_gateway
from subscriptions.gateways.sandbox import SandboxGateway
from subscriptions.models import Charge, Status, Subscription
from tests.recovery.conftest import at, declined_renewal, token_from_last_email

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class SlowGateway(SandboxGateway):
    name = "slow"
    calls: list[str] = []

    def charge(self, **kwargs):  # type: ignore[no-untyped-def]
        SlowGateway.calls.append(kwargs["idempotency_key"])
        time.sleep(0.5)
        return super().charge(**kwargs)


def test_twenty_simultaneous_payments_charge_once(mailoutbox):
    register_gateway("slow", SlowGateway)
    sub = declined_renewal()
    token = token_from_last_email()
    sub.creator.gateway = "slow"
    sub.creator.save(update_fields=["gateway"])
    SlowGateway.calls.clear()

    start = threading.Barrier(20)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            client = Client()
            start.wait()
            response = client.post(f"/pay/{token}/", {"payment_method": "pm_sandbox_ok"})
            statuses.append(response.status_code)
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    with at(date(2026, 2, 12)):
        threads = [threading.Thread(target=pay) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert not errors, errors
    assert len(statuses) == 20
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 409, 410}, statuses
    assert len(SlowGateway.calls) == 1
    sub = Subscription.objects.get(pk=sub.pk)
    assert sub.status == Status.ACTIVE
    assert Charge.objects.filter(subscription=sub, status="succeeded").count() == 1
    assert sub.events.filter(type="subscription.recovered").count() == 1
