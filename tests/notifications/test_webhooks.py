from __future__ import annotations

import contextlib
import json
import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from accounts.errors import DomainError
from notifications.jobs import webhook_deliveries_due
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks import transport
from notifications.webhooks.services import (
    RETRY_SCHEDULE,
    webhook_deliveries_create_for_event,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_test_send,
)
from subscriptions.models import Subscription, SubscriptionEvent
from subscriptions.presenters import subscription_as_api
from tests.factories import SubscriptionFactory, actor_for
from tests.notifications.receiver import Receiver

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


# --- the sender: SSRF, deadline, size cap, redirects ------------------------------------


@pytest.fixture
def connects(monkeypatch):  # type: ignore[no-untyped-def]
    """Record every outgoing connection attempt made by the sender."""
    seen: list[object] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(transport.socket, "create_connection", spy)
    return seen


def test_a_hostname_resolving_to_loopback_is_refused_without_connecting(connects, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        # hooks.example.com points at this machine, as a hostile DNS answer would.
        return real("127.0.0.1" if host == "hooks.example.com" else host, port, *args, **kwargs)

    monkeypatch.setattr(transport.socket, "getaddrinfo", resolver)
    with Receiver("whsec_" + "A" * 44) as receiver:
        result = transport.post(
            f"http://hooks.example.com:{receiver.port}/hooks",
            body=b"{}",
            headers={},
            allow_private=False,
        )
        by_name = transport.post(
            f"http://localhost:{receiver.port}/hooks", body=b"{}", headers={}, allow_private=False
        )
    assert result.status_code is None
    assert "resolves to 127.0.0.1, a private or reserved address" in result.error
    assert by_name.status_code is None and "loopback" in by_name.error
    assert connects == []
    assert receiver.received == []


def test_dns_rebinding_to_private_address_is_refused(connects, monkeypatch):
    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(transport.socket, "getaddrinfo", resolver)
    result = transport.post(
        "https://hooks.example.com/in", body=b"{}", headers={}, allow_private=False
    )
    assert "10.0.0.7" in result.error
    assert connects == []


def test_the_connection_goes_to_the_vetted_address_with_the_original_host(connects, monkeypatch):
    with Receiver("whsec_" + "A" * 44) as receiver:
        calls: list[str] = []

        def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(transport.socket, "getaddrinfo", resolver)
        result = transport.post(
            f"http://hooks.example.com:{receiver.port}/in",
            body=b"{}",
            headers={"webhook-id": "x"},
            allow_private=True,
        )
    assert result.ok, result.error
    assert calls.count("hooks.example.com") == 1  # resolved once, by us
    assert connects == [("127.0.0.1", receiver.port)]
    assert receiver.received[0].headers["host"] == f"hooks.example.com:{receiver.port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://017700000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://localhost/",
        "http://api.localhost/",
    ],
)
def test_private_and_disguised_addresses_are_refused(url, connects):
    with pytest.raises(transport.TargetRefused):
        transport.url_check(url, allow_private=False, require_https=False)
    result = transport.post(url, body=b"{}", headers={}, allow_private=False)
    assert result.status_code is None and result.error
    assert connects == []


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


def _raw_server(handler):  # type: ignore[no-untyped-def]
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            with contextlib.suppress(OSError):
                handler(conn)

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_trickling_receiver_is_cut_at_the_total_deadline():
    import time

    def trickle(conn):  # type: ignore[no-untyped-def]
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    server = _raw_server(trickle)
    started = time.monotonic()
    result = transport.post(
        f"http://127.0.0.1:{server.getsockname()[1]}/",
        body=b"{}",
        headers={},
        allow_private=True,
        deadline=0.6,
    )
    elapsed = time.monotonic() - started
    server.close()
    assert not result.ok
    assert "within 0.6 s" in result.error
    assert 0.55 <= elapsed < 0.9


def test_the_answer_is_read_only_up_to_the_cap():
    def flood(conn):  # type: ignore[no-untyped-def]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n")
        chunk = b"y" * 65536
        for _ in range(80):
            conn.sendall(chunk)

    server = _raw_server(flood)
    result = transport.post(
        f"http://127.0.0.1:{server.getsockname()[1]}/",
        body=b"{}",
        headers={},
        allow_private=True,
        max_bytes=1024,
    )
    server.close()
    assert result.ok
    assert len(result.excerpt) <= transport.EXCERPT_CHARS


def test_redirects_are_failures_and_not_followed():
    def redirect(conn):  # type: ignore[no-untyped-def]
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n"
        )

    server = _raw_server(redirect)
    result = transport.post(
        f"http://127.0.0.1:{server.getsockname()[1]}/", body=b"{}", headers={}, allow_private=True
    )
    server.close()
    assert result.status_code == 302
    assert not result.ok and "Redirects are not followed" in result.error


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
    from notifications import tasks

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
    from notifications import tasks

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


def test_a_kept_connection_is_reused_and_a_closed_one_replaced(connects):
    transport.connections_close()
    with Receiver("whsec_" + "A" * 44) as receiver:
        for _ in range(3):
            assert transport.post(receiver.url, body=b"{}", headers={}, allow_private=True).ok
        assert len(connects) == 1  # one TCP connection for the three sends
        transport.connections_close()
        assert transport.post(receiver.url, body=b"{}", headers={}, allow_private=True).ok
        assert len(connects) == 2
    assert len(receiver.received) == 4


def test_a_connection_the_receiver_closed_while_kept_is_replaced(connects):
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:  # answers one request per connection, then closes it
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    first = transport.post(url, body=b"{}", headers={}, allow_private=True)
    second = transport.post(url, body=b"{}", headers={}, allow_private=True)
    server.close()
    assert first.ok and second.ok, second.error
    assert len(connects) == 2
