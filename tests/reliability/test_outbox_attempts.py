"""The attempt bound of `process_event` for a consumer that raises (the crash case is
proven with a real worker in test_worker_killed.py)."""

from __future__ import annotations

import pytest

from subscriptions import outbox
from subscriptions.models import SubscriptionEvent
from subscriptions.tasks import process_event
from tests.reliability.factories import active_subscriptions, pending_events

pytestmark = pytest.mark.django_db


def test_raising_consumer_gets_exactly_max_attempts_then_is_recorded_failed(monkeypatch, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    calls: list[int] = []

    def broken(event: SubscriptionEvent) -> None:
        calls.append(event.pk)
        raise ValueError("provider said no")

    monkeypatch.setitem(outbox._CONSUMERS, "broken", broken)
    (subscription,) = active_subscriptions(1)
    (event,) = pending_events(subscription, 1)
    for _ in range(settings.OUTBOX_MAX_ATTEMPTS):
        with pytest.raises(ValueError):
            process_event(event.pk)
    event.refresh_from_db()
    assert (event.publish_attempts, event.failed_at) == (3, None)
    assert event.last_error == "broken: ValueError('provider said no')"

    process_event(event.pk)  # the next delivery gives up instead of calling the consumer
    process_event(event.pk)
    event.refresh_from_db()
    assert len(calls) == settings.OUTBOX_MAX_ATTEMPTS
    assert event.failed_at is not None and event.processed_at is None
    assert event.last_error == (
        "gave up after 3 attempts; last error: broken: ValueError('provider said no')"
    )


def test_healthy_event_is_processed_once(monkeypatch):
    seen: list[int] = []
    monkeypatch.setitem(outbox._CONSUMERS, "ok", lambda e: seen.append(e.pk))
    (subscription,) = active_subscriptions(1)
    (event,) = pending_events(subscription, 1)
    process_event(event.pk)
    process_event(event.pk)  # a duplicate delivery is a no-op
    event.refresh_from_db()
    assert seen == [event.pk]
    assert event.processed_at is not None and event.publish_attempts == 1
