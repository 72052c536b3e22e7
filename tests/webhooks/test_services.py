"""Outbound webhook services: the consumer, the retry schedule, disabling, replay and
test events, end to end against a real local receiver."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from core.errors import DomainError
from subscriptions.models import Subscription, SubscriptionEvent
from subscriptions.presenters import subscription_as_api
from tests.factories import SubscriptionFactory, actor_for
from tests.webhooks.receiver import Receiver
from webhooks.jobs import webhook_deliveries_due
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    RETRY_SCHEDULE,
    webhook_deliveries_create_for_event,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_test_send,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def private_ok(settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


def _event(
    subscription: Subscription, type: str = "subscription.status_changed"
) -> SubscriptionEvent:
    return SubscriptionEvent.objects.create(
        creator=subscription.creator,
        subscription=subscription,
        type=type,
        data={"from": "ACTIVE", "to": "CANCELLED_BY_SELLER", "source": "seller", "reason": ""},
        occurred_at=T0,
    )


def _run_job() -> int:
    return webhook_deliveries_due()


def test_retries_arrive_on_schedule_signed_and_verified(
    private_ok, celery_eager, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    subscription = SubscriptionFactory()
    with time_machine.travel(T0, tick=False) as clock:
        endpoint, secret = webhook_endpoint_create(
            creator=subscription.creator, url="http://127.0.0.1:1/placeholder"
        )
        with Receiver(secret, statuses=[500, 500, 200]) as receiver:
            webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
            event = _event(subscription)
            with django_capture_on_commit_callbacks(execute=True):
                webhook_deliveries_create_for_event(event)
            delivery = WebhookDelivery.objects.get(endpoint=endpoint, event=event)
            assert len(receiver.received) == 1
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
                "pending",
                1,
                500,
            )
            assert delivery.next_attempt_at == T0 + timedelta(seconds=5)

            clock.shift(4)
            assert _run_job() == 0
            assert len(receiver.received) == 1

            clock.shift(1)
            assert _run_job() == 1
            assert len(receiver.received) == 2
            delivery.refresh_from_db()
            assert delivery.next_attempt_at == T0 + timedelta(seconds=5 + 300)

            clock.shift(299)
            assert _run_job() == 0
            clock.shift(1)
            call_command("run_scheduled_jobs", "--job", "webhook_deliveries_due")
            assert len(receiver.received) == 3

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 3, None)
    arrivals = [r.at - T0.timestamp() for r in receiver.received]
    assert arrivals == pytest.approx([0, 5, 305], abs=0.5)
    assert all(r.verified for r in receiver.received)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert receiver.received[0].headers["webhook-id"] == str(delivery.uuid)
    body = receiver.received[-1].json()
    assert body["id"] == str(event.uuid)
    assert body["type"] == "subscription.status_changed"
    assert body["created_at"] == T0.isoformat()
    fresh = Subscription.objects.select_related("plan__product", "subscriber").get(
        pk=subscription.pk
    )
    assert body["data"]["subscription"] == json.loads(json.dumps(subscription_as_api(fresh)))
    assert body["data"]["to"] == "CANCELLED_BY_SELLER"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_active
    assert "webhook delivery" in caplog.text
    assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text
    assert secret not in delivery.last_error + delivery.response_excerpt


def test_the_schedule_is_the_documented_one():
    assert RETRY_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


def test_every_attempt_failing_ends_failed_after_eight(private_ok, celery_eager):
    subscription = SubscriptionFactory()
    with time_machine.travel(T0, tick=False) as clock:
        endpoint, secret = webhook_endpoint_create(
            creator=subscription.creator, url="http://127.0.0.1:1/x"
        )
        with Receiver(secret, statuses=[503]) as receiver:
            webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
            webhook_deliveries_create_for_event(_event(subscription))
            _run_job()
            for wait in RETRY_SCHEDULE[1:]:
                clock.shift(wait)
                assert _run_job() == 1
            clock.shift(36000)
            assert _run_job() == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 8)
    assert len(receiver.received) == 8


def test_consumer_is_idempotent_and_respects_event_filters(private_ok):
    subscription = SubscriptionFactory()
    all_events, _ = webhook_endpoint_create(
        creator=subscription.creator, url="http://127.0.0.1:1/a"
    )
    charges_only, _ = webhook_endpoint_create(
        creator=subscription.creator, url="http://127.0.0.1:1/b", events=["charge.failed"]
    )
    off, _ = webhook_endpoint_create(creator=subscription.creator, url="http://127.0.0.1:1/c")
    webhook_endpoint_update(endpoint=off, is_active=False)
    other_tenant = SubscriptionFactory()
    webhook_endpoint_create(creator=other_tenant.creator, url="http://127.0.0.1:1/d")
    event = _event(subscription)
    webhook_deliveries_create_for_event(event)
    webhook_deliveries_create_for_event(event)
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [all_events.pk]
    assert charges_only.deliveries.count() == 0


def test_410_disables_the_endpoint_and_gives_up_pending(private_ok, celery_eager):
    subscription = SubscriptionFactory()
    endpoint, secret = webhook_endpoint_create(
        creator=subscription.creator, url="http://127.0.0.1:1/x"
    )
    with Receiver(secret, statuses=[410]) as receiver:
        webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
        webhook_deliveries_create_for_event(_event(subscription))
        webhook_deliveries_create_for_event(_event(subscription, "charge.failed"))
        _run_job()
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "410" in endpoint.disabled_reason
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"gave_up"}
    assert len(receiver.received) == 1


def test_five_days_of_failure_disable_the_endpoint(private_ok, celery_eager):
    subscription = SubscriptionFactory()
    endpoint, secret = webhook_endpoint_create(
        creator=subscription.creator, url="http://127.0.0.1:1/x"
    )
    with Receiver(secret, statuses=[500]) as receiver:
        webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=datetime.now(UTC) - timedelta(days=4, hours=23)
        )
        webhook_deliveries_create_for_event(_event(subscription))
        _run_job()
        endpoint.refresh_from_db()
        assert endpoint.is_active  # 4 days 23 hours: not yet
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=datetime.now(UTC) - timedelta(days=5, seconds=1)
        )
        webhook_deliveries_create_for_event(_event(subscription, "charge.failed"))
        _run_job()
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "5 days" in endpoint.disabled_reason
    # Switching it back on starts a fresh failure clock.
    webhook_endpoint_update(endpoint=endpoint, is_active=True)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.failing_since) == (
        True,
        "",
        None,
    )


def test_replay_and_test_event(private_ok, celery_eager):
    subscription = SubscriptionFactory()
    endpoint, secret = webhook_endpoint_create(
        creator=subscription.creator, url="http://127.0.0.1:1/x"
    )
    with Receiver(secret, statuses=[200]) as receiver:
        webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
        test_delivery = webhook_test_send(endpoint=endpoint)
        _run_job()
        webhook_deliveries_create_for_event(_event(subscription))
        _run_job()
        delivery = WebhookDelivery.objects.get(event__isnull=False)
        assert delivery.status == "succeeded"
        webhook_delivery_replay(delivery=delivery)
        _run_job()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    types = [r.json()["type"] for r in receiver.received]
    assert types == ["webhook.test", "subscription.status_changed", "subscription.status_changed"]
    assert all(r.verified for r in receiver.received)
    assert receiver.received[0].headers["webhook-id"] == str(test_delivery.uuid)


def test_replay_on_a_disabled_endpoint_is_refused(private_ok):
    subscription = SubscriptionFactory()
    endpoint, _ = webhook_endpoint_create(creator=subscription.creator, url="http://127.0.0.1:1/x")
    webhook_deliveries_create_for_event(_event(subscription))
    webhook_endpoint_update(endpoint=endpoint, is_active=False)
    with pytest.raises(DomainError) as info:
        webhook_delivery_replay(delivery=WebhookDelivery.objects.get())
    assert info.value.status == 409


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/", "https://"),
        ("http://hooks.example.com/", "https://"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("https:///path", "host"),
        ("https://hooks.example.com:99999/", "not valid"),
        ("http://127.0.0.1/", "https://"),
    ],
)
def test_endpoint_urls_are_checked_on_save(creator, settings, url, why):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(DomainError) as info:
        webhook_endpoint_create(creator=creator, url=url)
    assert why in info.value.message
    assert not WebhookEndpoint.objects.exists()


def test_http_is_allowed_in_debug_but_private_still_refused(creator, settings):
    settings.DEBUG = True
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    endpoint, _ = webhook_endpoint_create(creator=creator, url="http://hooks.example.com/x")
    assert endpoint.url == "http://hooks.example.com/x"
    with pytest.raises(DomainError):
        webhook_endpoint_create(creator=creator, url="http://10.0.0.1/x")


def test_a_cancellation_reaches_the_endpoint_through_the_event_outbox(
    private_ok, celery_eager, django_capture_on_commit_callbacks
):
    from subscriptions.services import subscription_cancel

    subscription = SubscriptionFactory()
    endpoint, secret = webhook_endpoint_create(
        creator=subscription.creator,
        url="http://127.0.0.1:1/x",
        events=["subscription.status_changed"],
    )
    with Receiver(secret, statuses=[204]) as receiver:
        webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            subscription_cancel(
                subscription=subscription, actor=actor_for("seller"), reason="moved"
            )
    [received] = receiver.received
    assert received.verified
    body = received.json()
    assert body["type"] == "subscription.status_changed"
    assert body["data"]["subscription"]["status"] == "CANCELLED_BY_SELLER"
    assert body["data"]["subscription"]["cancellation"] == {"source": "seller", "reason": "moved"}
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_the_5_second_retry_rides_a_short_countdown(private_ok, monkeypatch):
    from webhooks import tasks

    subscription = SubscriptionFactory()
    endpoint, secret = webhook_endpoint_create(
        creator=subscription.creator, url="http://127.0.0.1:1/x"
    )
    queued: list[dict[str, object]] = []
    monkeypatch.setattr(tasks.webhook_delivery_send, "apply_async", lambda **kw: queued.append(kw))
    with Receiver(secret, statuses=[500]) as receiver:
        webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
        webhook_deliveries_create_for_event(_event(subscription))
        delivery = WebhookDelivery.objects.get()
        tasks.webhook_delivery_send.run(delivery.pk, 0)
        tasks.webhook_delivery_send.run(delivery.pk, 0)  # a duplicate message: no-op
    assert len(receiver.received) == 1
    assert queued == [{"args": (delivery.pk, 1), "countdown": 5.0, "retry": False}]


def test_an_events_deliveries_go_in_one_message_and_are_claimed_together(
    private_ok, monkeypatch, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from webhooks import tasks

    subscription = SubscriptionFactory()
    secrets = [
        webhook_endpoint_create(creator=subscription.creator, url=f"http://127.0.0.1:1/{n}")
        for n in range(3)
    ]
    queued: list[dict[str, object]] = []
    monkeypatch.setattr(
        tasks.webhook_deliveries_send, "apply_async", lambda **kw: queued.append(kw)
    )
    with Receiver(secrets[0][1]) as receiver:
        for endpoint, _ in secrets:
            webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            due = webhook_deliveries_create_for_event(_event(subscription))
        assert [kw["args"] for kw in queued] == [(due,)]
        # claim, read, one UPDATE for the successes (no failure clock was running)
        with django_assert_max_num_queries(3):
            tasks.webhook_deliveries_send.run([list(item) for item in due])
        tasks.webhook_deliveries_send.run([list(item) for item in due])  # again: a no-op
    assert len(receiver.received) == 3
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}
