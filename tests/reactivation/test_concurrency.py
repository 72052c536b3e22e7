"""Two (ten) accepts at the same moment reactivate and charge once (SPEC §6.2).

Real threads, each with its own PostgreSQL connection; rows are locked with
SELECT … FOR UPDATE, so only one accept gets through."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client

from reactivation import services
from reactivation.models import ReactivationRequest
from subscriptions.models import Charge, Status, Subscription
from tests.conftest import require_service
from tests.factories import TEST_ACTOR
from tests.reactivation.factories import at, page_url, seed_subscription, token_from_last_email

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("mode", ["reactivate", "reactivate_and_charge"])
def test_ten_concurrent_accepts_reactivate_and_charge_once(mode, mailoutbox):
    require_service(connection.vendor == "postgresql", "PostgreSQL")
    subscription = seed_subscription()
    with time_machine.travel(at(2026, 5, 19), tick=False):
        request = services.reactivation_request_create(
            subscription=subscription, mode=mode, actor=TEST_ACTOR
        )
    token = token_from_last_email()

    start = threading.Barrier(10)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            client = Client()
            start.wait()
            statuses.append(client.post(page_url(token), {"decision": "accept"}).status_code)
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    with time_machine.travel(at(2026, 5, 20), tick=False):
        threads = [threading.Thread(target=accept) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert not errors, errors
    assert len(statuses) == 10
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 409, 410}, statuses
    request = ReactivationRequest.objects.get(pk=request.pk)
    assert request.status == "accepted"
    subscription = Subscription.objects.get(pk=subscription.pk)
    assert subscription.status == Status.ACTIVE
    assert subscription.events.filter(type="subscription.reactivated").count() == 1
    assert (
        subscription.events.filter(type="subscription.status_changed", data__to="ACTIVE").count()
        == 1
    )
    charges = Charge.objects.filter(subscription=subscription, kind="reactivation")
    assert charges.count() == (1 if mode == "reactivate_and_charge" else 0)
