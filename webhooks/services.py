"""Webhook services (SPEC §9).

Rules:
- an endpoint's URL is http(s); https unless DEBUG or WEBHOOKS_ALLOW_PRIVATE_TARGETS;
  never a private/loopback/link-local address unless that setting allows it (checked
  again after DNS resolution at every send, see core/egress.py);
- its secret is generated here and returned once, by `webhook_endpoint_create`;
- one delivery per (endpoint, event) — a re-processed event never sends twice;
- attempts follow RETRY_SCHEDULE (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) as data:
  `next_attempt_at` is claimed by the periodic job; an attempt is claimed by a
  conditional UPDATE on the attempt count, so two workers never send the same attempt;
- an endpoint that keeps failing for 5 days, or answers 410 Gone, is disabled and its
  pending deliveries give up.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Creator
from core import egress
from core.bulk import insert_new_rows
from core.claims import claim_rows
from core.enqueue import enqueue_chunks
from core.errors import Conflict, DomainError
from subscriptions.events import WEBHOOK_EVENT_TYPES
from subscriptions.models import Subscription, SubscriptionEvent
from subscriptions.outbox import event_subscription
from subscriptions.presenters import subscription_as_api
from webhooks import signing
from webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Seconds to wait before attempt 1, 2, ... (attempt 1 goes out at once).
RETRY_SCHEDULE: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
DISABLE_AFTER = timedelta(days=5)
# How long an attempt being made is left alone before the job may hand it out again
# (longer than the 10 s deadline plus recording the result).
CLAIM_LEASE = timedelta(minutes=2)
# How long a delivery the job queued is left alone. Short, because a message lost with
# the broker (Redis restarted without persistence) waits this long to be sent; a
# delivery queued twice is still sent once (attempts are claimed by a conditional
# UPDATE on the attempt count).
QUEUE_LEASE = timedelta(seconds=20)
DUE_BATCH = 200
# Attempts per Celery message. Claimed together, sent one after the other: at most
# SEND_BATCH times the 10 s deadline must stay well inside CLAIM_LEASE.
SEND_BATCH = 8
TEST_EVENT_TYPE = "webhook.test"

# The event types flagged for webhooks in the vocabulary (SPEC §9).
EVENT_TYPES: tuple[str, ...] = WEBHOOK_EVENT_TYPES


def _allow_private() -> bool:
    return bool(settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)


def webhook_url_clean(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise DomainError("A URL is required.", details={"url": ["Required."]})
    url = url.strip()
    if len(url) > 2000:
        raise DomainError("The URL is too long.", details={"url": ["At most 2000 characters."]})
    try:
        egress.url_check(
            url,
            allow_private=_allow_private(),
            require_https=not (settings.DEBUG or _allow_private()),
        )
    except egress.TargetRefused as exc:
        message = str(exc)
        if settings.DEBUG and _refused_only_as_private(url):
            message += (
                " To send webhooks to this machine in development, set "
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS=true and restart the server."
            )
        raise DomainError(message, details={"url": [message]}) from None
    return url


def _refused_only_as_private(url: str) -> bool:
    """Whether `url` would pass if private targets were allowed (a local receiver)."""
    try:
        egress.url_check(url, allow_private=True, require_https=False)
    except egress.TargetRefused:
        return False
    return True


def webhook_events_clean(events: Any) -> list[str]:
    if events is None:
        return ["*"]
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise DomainError(
            'events must be a non-empty list of event types, or ["*"] for all.',
            details={"events": ["A non-empty list of event types."]},
        )
    unknown = sorted({e for e in events if e != "*" and e not in EVENT_TYPES})
    if unknown:
        message = f"Unknown event types: {', '.join(unknown)}."
        raise DomainError(message, details={"events": [message]})
    return ["*"] if "*" in events else sorted(set(events))


def webhook_endpoint_create(
    *, creator: Creator, url: Any, events: Any = None, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint and return it with its secret — the only time it is shown."""
    secret = signing.secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            creator=creator,
            url=webhook_url_clean(url),
            events=webhook_events_clean(events),
            description=(description or "")[:500],
            secret=secret,
        )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: Any = None,
    events: Any = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; switching it back on clears the disabled reason and the
    failure clock, so it gets a fresh 5 days."""
    if url is not None:
        endpoint.url = webhook_url_clean(url)
    if events is not None:
        endpoint.events = webhook_events_clean(events)
    if description is not None:
        endpoint.description = description[:500]
    if is_active is not None:
        if is_active and not endpoint.is_active:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
        endpoint.is_active = is_active
    with transaction.atomic():
        endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()


def _payload(*, msg_id: str, type: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": msg_id, "type": type, "created_at": created_at, "data": data}


def event_payload(event: SubscriptionEvent, subscription: Subscription) -> dict[str, Any]:
    """`{id, type, created_at, data}`; data is the event's own data plus the subscription
    exactly as the API shows it (under "subscription")."""
    data = {**(event.data or {}), "subscription": subscription_as_api(subscription)}
    return _payload(
        msg_id=str(event.uuid), type=event.type, created_at=event.occurred_at.isoformat(), data=data
    )


def webhooks_on_event(event: SubscriptionEvent) -> None:
    """The consumer registered with the subscriptions outbox."""
    webhook_deliveries_create_for_event(event)


def webhook_deliveries_create_for_event(event: SubscriptionEvent) -> list[tuple[int, int]]:
    """The outbox consumer: one delivery per matching active endpoint, sent after commit.
    Idempotent: the (endpoint, event) constraint ignores a second run, which (re)queues
    the deliveries of the event not attempted yet."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(creator_id=event.creator_id, is_active=True).only(
            "id", "creator_id", "events"
        )  # not the secret: decrypted per row otherwise
        if e.wants(event.type)
    ]
    if not endpoints:
        return []
    payload = event_payload(event, event_subscription(event))
    now = timezone.now()
    rows = [
        WebhookDelivery(
            creator_id=event.creator_id,
            endpoint=endpoint,
            event=event,
            event_type=event.type,
            payload=payload,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    ]
    new_ids = insert_new_rows(rows)  # one statement; fewer ids: processed before
    if len(new_ids) == len(rows):
        due = [(pk, 0) for pk in new_ids]
    else:  # processed before: queue again what was never attempted
        due = list(
            WebhookDelivery.objects.filter(
                event=event, status=WebhookDelivery.Status.PENDING, attempts=0
            ).values_list("pk", "attempts")
        )
    transaction.on_commit(lambda: enqueue(due))
    return due


def webhook_test_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """ "Send test event": a `webhook.test` delivery, sent now, retried like any other."""
    if not endpoint.is_active:
        raise Conflict("This endpoint is disabled; enable it before sending a test event.")
    msg_id = str(uuid.uuid4())
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            creator_id=endpoint.creator_id,
            endpoint=endpoint,
            event=None,
            uuid=msg_id,
            event_type=TEST_EVENT_TYPE,
            payload=_payload(
                msg_id=msg_id,
                type=TEST_EVENT_TYPE,
                created_at=now.isoformat(),
                data={"endpoint": str(endpoint.uuid), "message": "This is a test event."},
            ),
            next_attempt_at=now,
        )
        transaction.on_commit(lambda: enqueue([(delivery.pk, 0)]))
    return delivery


def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new attempt now, whatever the delivery's state (the same webhook-id, so a
    receiver that already processed it can recognise the duplicate)."""
    with transaction.atomic():
        locked = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .get(pk=delivery.pk, creator_id=delivery.creator_id)
        )
        if not locked.endpoint.is_active:
            raise Conflict("The endpoint is disabled; enable it before replaying.")
        locked.status = WebhookDelivery.Status.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "next_attempt_at"])
        due = [(locked.pk, locked.attempts)]
        transaction.on_commit(lambda: enqueue(due))
    return locked


def enqueue(items: list[tuple[int, int]]) -> None:
    """Hand attempts to Celery, SEND_BATCH to a message (an event's deliveries to its
    endpoints travel together). A broker outage is fine: the periodic job finds them."""
    from webhooks.tasks import webhook_deliveries_send, webhook_delivery_send

    enqueue_chunks(
        items,
        size=SEND_BATCH,
        many=webhook_deliveries_send,
        one=webhook_delivery_send,
        one_args=tuple,
        what="webhook deliveries",
    )


def webhook_deliveries_claim_due(*, limit: int = DUE_BATCH) -> list[tuple[int, int]]:
    """Due pending deliveries, each leased for QUEUE_LEASE so the next run of the job does
    not hand it out again while a worker still has it queued."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", "attempts")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            next_attempt_at=now + QUEUE_LEASE
        )
    return rows


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # the delivery's status after the attempt, or "skipped"
    attempts: int
    retry_in: float | None  # seconds until the next attempt, when one is scheduled


SKIPPED = "skipped"


def webhook_delivery_attempt(*, delivery_id: int, expected_attempts: int) -> AttemptOutcome:
    """Make attempt number `expected_attempts + 1`, if nobody made it yet."""
    outcomes = webhook_deliveries_attempt(items=[(delivery_id, expected_attempts)])
    return outcomes.get(delivery_id, AttemptOutcome(SKIPPED, expected_attempts, None))


def _claim(items: list[tuple[int, int]], now: datetime) -> list[int]:
    """Claim each attempt with a conditional UPDATE on its attempt count, so two workers
    never send the same attempt: one claim per distinct count (a batch usually has one),
    which also says which rows it claimed."""
    by_count: dict[int, list[int]] = {}
    for delivery_id, expected in items:
        by_count.setdefault(expected, []).append(int(delivery_id))
    claimed: list[int] = []
    for expected, ids in by_count.items():
        claimed += [
            row[0]
            for row in claim_rows(
                WebhookDelivery,
                ids=ids,
                where={"status": WebhookDelivery.Status.PENDING, "attempts": expected},
                set={"next_attempt_at": now + CLAIM_LEASE, "last_attempt_at": now},
                increment=("attempts",),
            )
        ]
    return claimed


def webhook_deliveries_attempt(*, items: list[tuple[int, int]]) -> dict[int, AttemptOutcome]:
    """Make each (delivery id, attempts made) attempt if nobody made it yet; the outcome
    of each attempt made, by delivery id. The rules are those of a single attempt; the
    batch only saves round trips (one claim, one read, one write for the successes)."""
    now = timezone.now()
    claimed = _claim(items, now)
    if not claimed:
        return {}
    deliveries = list(
        WebhookDelivery.objects.unscoped("loads the claimed deliveries by id")
        .select_related("endpoint")
        .filter(pk__in=claimed)
        .order_by("pk")
    )  # one the endpoint of which was deleted meanwhile is gone with it: skipped
    outcomes: dict[int, AttemptOutcome] = {}
    succeeded: list[tuple[WebhookDelivery, egress.SendResult]] = []
    disabled: set[int] = set()  # by an answer of this batch (410, 5 days of failures)
    recovered: set[int] = set()  # endpoints that answered 2xx in this batch
    for delivery in deliveries:
        endpoint = delivery.endpoint
        if delivery.endpoint_id in disabled:  # _disable gave its pending deliveries up
            outcomes[delivery.pk] = AttemptOutcome(
                WebhookDelivery.Status.GAVE_UP, delivery.attempts, None
            )
            continue
        if not endpoint.is_active:
            _give_up(delivery, "The endpoint is disabled.")
            outcomes[delivery.pk] = AttemptOutcome(
                WebhookDelivery.Status.GAVE_UP, delivery.attempts, None
            )
            continue
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
        headers = signing.signed_headers(
            secret=str(endpoint.secret),
            msg_id=str(delivery.uuid),
            timestamp=int(timezone.now().timestamp()),  # when sent, not when claimed
            body=body,
        )
        result = egress.post(
            endpoint.url, body=body.encode(), headers=headers, allow_private=_allow_private()
        )
        _log(delivery, result)
        if result.ok:
            succeeded.append((delivery, result))
            recovered.add(delivery.endpoint_id)
            outcomes[delivery.pk] = AttemptOutcome(
                WebhookDelivery.Status.SUCCEEDED, delivery.attempts, None
            )
        else:
            # A failure is recorded as if the batch's earlier attempts had each been
            # recorded at once: successes first, and their endpoints' clocks restarted.
            _record_successes(succeeded)
            succeeded = []
            if delivery.endpoint_id in recovered:
                endpoint.failing_since = None
            outcomes[delivery.pk] = _record(delivery, endpoint, result)
            if outcomes[delivery.pk].status == WebhookDelivery.Status.GAVE_UP:
                disabled.add(delivery.endpoint_id)
    _record_successes(succeeded)
    return outcomes


def _fields(result: egress.SendResult) -> dict[str, Any]:
    return {
        "last_status_code": result.status_code,
        "last_error": result.error[:2000],
        "response_excerpt": result.excerpt,
    }


def _log(delivery: WebhookDelivery, result: egress.SendResult) -> None:
    logger.info(
        "webhook delivery %s attempt %s -> %s %s",
        delivery.uuid,
        delivery.attempts,
        result.status_code,
        result.error,
    )


def _record_successes(succeeded: list[tuple[WebhookDelivery, egress.SendResult]]) -> None:
    """Mark the successful attempts, one UPDATE per distinct answer (receivers mostly
    answer alike), and restart the failure clock of their endpoints."""
    if not succeeded:
        return
    by_answer: dict[tuple[Any, ...], list[int]] = {}
    for delivery, result in succeeded:
        fields = _fields(result)
        by_answer.setdefault(tuple(sorted(fields.items())), []).append(delivery.pk)
    # No transaction: each statement stands alone, and a crash between them leaves at
    # worst a failure clock running that the next success restarts.
    for answer, ids in by_answer.items():
        WebhookDelivery.objects.unscoped("updates the claimed deliveries by id").filter(
            pk__in=ids
        ).update(status=WebhookDelivery.Status.SUCCEEDED, next_attempt_at=None, **dict(answer))
    # Restart the failure clock of endpoints that had one running when the batch was read
    # (a failure recorded by another worker since then is cleared by the next success).
    failing = {d.endpoint_id for d, _ in succeeded if d.endpoint.failing_since is not None}
    if failing:
        WebhookEndpoint.objects.unscoped("the endpoints of the claimed deliveries").filter(
            pk__in=failing, failing_since__isnull=False
        ).update(failing_since=None)


def _record(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, result: egress.SendResult
) -> AttemptOutcome:
    now = timezone.now()
    attempts = delivery.attempts
    fields = _fields(result)
    with transaction.atomic():
        if result.ok:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=WebhookDelivery.Status.SUCCEEDED, next_attempt_at=None, **fields
            )
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
            return AttemptOutcome(WebhookDelivery.Status.SUCCEEDED, attempts, None)
        if result.status_code == 410:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
            _disable(endpoint, "The endpoint answered 410 Gone.")
            return AttemptOutcome(WebhookDelivery.Status.GAVE_UP, attempts, None)
        failing_since = endpoint.failing_since or now
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        if now - failing_since >= DISABLE_AFTER:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
            _disable(endpoint, "Every delivery failed for 5 days.")
            return AttemptOutcome(WebhookDelivery.Status.GAVE_UP, attempts, None)
        if attempts < len(RETRY_SCHEDULE):
            wait = RETRY_SCHEDULE[attempts]
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=now + timedelta(seconds=wait), **fields
            )
            return AttemptOutcome(WebhookDelivery.Status.PENDING, attempts, float(wait))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **fields
        )
        return AttemptOutcome(WebhookDelivery.Status.FAILED, attempts, None)


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason=reason)
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.GAVE_UP, next_attempt_at=None
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.uuid, reason)


def _give_up(delivery: WebhookDelivery, reason: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.GAVE_UP, next_attempt_at=None, last_error=reason
    )
