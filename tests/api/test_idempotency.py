import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import IdempotencyRecord
from subscriptions.gateways.sandbox import SandboxGateway
from subscriptions.models import Charge, Subscription
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory

URL = "/api/v1/subscriptions"


def _sale(plan, email="ana@example.com"):  # type: ignore[no-untyped-def]
    return {
        "plan": str(plan.uuid),
        "subscriber": {"email": email, "name": "Ana"},
        "payment_method": "pm_sandbox_ok",
    }


@pytest.fixture
def plan(creator):  # type: ignore[no-untyped-def]
    return PlanFactory(product=ProductFactory(creator=creator))


@pytest.mark.django_db
def test_same_key_same_body_replays_the_first_answer_and_charges_once(creator, plan):
    client = api_client(creator)
    first = client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Subscription.objects.count() == 1 and Charge.objects.count() == 1
    record = IdempotencyRecord.objects.get(creator=creator, key="k-1")
    assert record.status_code == 201
    assert timedelta(hours=23) < record.expires_at - timezone.now() <= timedelta(hours=24)


@pytest.mark.django_db
def test_same_key_different_body_is_422(creator, plan):
    client = api_client(creator)
    client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(
        URL, _sale(plan, "bia@example.com"), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Subscription.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_each_post_is_a_new_sale(creator, plan):
    client = api_client(creator)
    client.post(URL, _sale(plan), format="json")
    client.post(URL, _sale(plan), format="json")
    assert Subscription.objects.count() == 2


@pytest.mark.django_db
def test_keys_are_per_creator(creator, plan):
    other_plan = PlanFactory()
    a = api_client(creator).post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    b = api_client(other_plan.creator).post(
        URL, _sale(other_plan), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.django_db
def test_a_failed_request_releases_its_key(creator, plan):
    client = api_client(creator)
    bad = {**_sale(plan), "payment_method": ""}
    assert client.post(URL, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 400
    fixed = client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert fixed.status_code == 201


@pytest.mark.django_db
def test_an_expired_key_is_a_new_request(creator, plan):
    client = api_client(creator)
    client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    again = client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Subscription.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 256, "tab\there", ""])
def test_invalid_key_is_400(creator, plan, key):
    response = api_client(creator).post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Subscription.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_in_flight_is_409(creator, plan):
    """The first request is inside the gateway call when its duplicate arrives."""
    in_gateway, release = threading.Event(), threading.Event()
    real_charge = SandboxGateway.charge

    def slow_charge(self, **kwargs):  # type: ignore[no-untyped-def]
        in_gateway.set()
        assert release.wait(10)
        return real_charge(self, **kwargs)

    client_a, client_b = api_client(creator), api_client(creator)
    answers = {}

    def first() -> None:
        try:
            answers["first"] = client_a.post(
                URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="race"
            )
        finally:
            connection.close()

    with mock.patch.object(SandboxGateway, "charge", slow_charge):
        worker = threading.Thread(target=first)
        worker.start()
        assert in_gateway.wait(10)
        duplicate = client_b.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="race")
        release.set()
        worker.join(10)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "idempotency_in_progress"
    assert answers["first"].status_code == 201
    assert Charge.objects.count() == 1
    replay = client_b.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert replay.json() == answers["first"].json()


@pytest.mark.django_db
def test_the_purge_job_deletes_answers_once_their_24_hours_are_over(creator, plan):
    import time_machine
    from django.core.management import call_command

    client = api_client(creator)
    client.post(URL, _sale(plan), format="json", HTTP_IDEMPOTENCY_KEY="old")
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        client.post(URL, _sale(plan, "bia@example.com"), format="json", HTTP_IDEMPOTENCY_KEY="new")
        call_command("run_scheduled_jobs", "--job", "idempotency_purge")
        assert IdempotencyRecord.objects.count() == 2  # both still within 24 h
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        call_command("run_scheduled_jobs", "--job", "idempotency_purge")
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
