"""Writes on reactivation requests: each a keyword-only function, one transaction, with
its events (SPEC §6).

Lock order everywhere is subscription first, then its requests, so creating, accepting
and superseding never deadlock one another.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Creator, User
from core.actors import Actor
from core.bulk import bulk_insert_rows
from core.errors import Conflict, DomainError
from reactivation.models import REQUEST_LIFETIME, Mode, ReactivationBatch, ReactivationRequest
from subscriptions.events import EventType
from subscriptions.models import Charge, Plan, Subscription, SubscriptionEvent
from subscriptions.outbox import event_record, events_record_bulk
from subscriptions.reactivation_rules import (
    IN_PROGRESS,
    NOT_FOUND,
    Refusal,
    reactivation_refusal,
    refusal_for,
)

# Largest list one bulk action takes (the API answers 400 above it).
BULK_MAX = 10_000
# A reactivation charge opened less than this long ago is still being processed by the
# request that opened it; a second accept waits instead of calling the gateway too.
CHARGE_IN_FLIGHT_SECONDS = 120

PENDING = ReactivationRequest.Status.PENDING


class RequestGone(DomainError):
    """The link was used, expired, superseded or failed: the page answers 410."""

    status = 410
    code = "gone"

    def __init__(self, request: ReactivationRequest):
        super().__init__(f"This reactivation request is {request.status}.", code=request.status)
        self.request = request


def _mode_checked(mode: str) -> str:
    if mode not in Mode.values:
        raise DomainError(
            f"Unknown mode {mode!r}; use 'reactivate' or 'reactivate_and_charge'.",
            code="invalid_mode",
        )
    return mode


def _requested_data(request: ReactivationRequest, supersedes: str | None) -> dict[str, Any]:
    return {
        "request": str(request.uuid),
        "mode": request.mode,
        "expires_at": request.expires_at.isoformat(),
        "requested_by": request.requested_by_label,
        "supersedes": supersedes,
    }


def _emails_after_commit(request_ids: list[int]) -> None:
    from reactivation.tasks import emails_dispatch

    transaction.on_commit(partial(emails_dispatch, request_ids))


# --- creating requests ---------------------------------------------------------------


def reactivation_request_create(
    *,
    subscription: Subscription,
    mode: str,
    actor: Actor,
    requested_by: User | None = None,
    send_email: bool = True,
) -> ReactivationRequest:
    """Ask the subscriber to reactivate; nothing changes until they accept (SPEC §6.1).

    Refused with a reason code (409) unless the subscription is CANCELLED_BY_CUSTOMER or
    CANCELLED_BY_SELLER on a plan still on sale (CANCELLED_BY_ADMIN only when the actor
    is support staff). The actor's label is kept on the request for its history.
    A pending request of the same subscription is superseded: its link answers 410.
    The email with the link goes out after commit (`send_email=False` when the subscriber
    asks for it themselves and accepts at once: `reactivation.restart`).
    """
    _mode_checked(mode)
    with transaction.atomic():
        locked = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan__product", "creator")
            .get(pk=subscription.pk, creator_id=subscription.creator_id)
        )
        refusal = reactivation_refusal(locked, as_support=actor.is_support)
        if refusal is None and _subscriptions_accepting_now(
            [locked.pk], creator_id=locked.creator_id
        ):
            refusal = IN_PROGRESS
        if refusal is not None:
            raise Conflict(refusal.message, code=refusal.code)
        now = timezone.now()
        previous = (
            ReactivationRequest.objects.filter(subscription=locked, status=PENDING)
            .values_list("uuid", flat=True)
            .first()
        )
        _supersede_pending(subscription_ids=[locked.pk], now=now, creator_id=locked.creator_id)
        request = ReactivationRequest.objects.create(
            creator_id=locked.creator_id,
            subscription=locked,
            mode=mode,
            requested_by=requested_by,
            requested_by_label=actor.label[:200],
            created_at=now,
            expires_at=now + REQUEST_LIFETIME,
        )
        event_record(
            subscription=locked,
            type=EventType.REACTIVATION_REQUESTED,
            data=_requested_data(request, str(previous) if previous else None),
            occurred_at=now,
        )
        if send_email:
            _emails_after_commit([request.pk])
    return request


def _subscriptions_accepting_now(subscription_ids: Sequence[int], *, creator_id: int) -> set[int]:
    """Subscriptions whose pending request has a charge in flight: never superseded,
    revoked or expired under it, or the subscriber could pay without being reactivated."""
    return set(
        ReactivationRequest.objects.filter(
            creator_id=creator_id,
            subscription_id__in=subscription_ids,
            status=PENDING,
            charge__status=Charge.Status.PENDING,
        ).values_list("subscription_id", flat=True)
    )


def _supersede_pending(*, subscription_ids: Sequence[int], now: datetime, creator_id: int) -> int:
    """One UPDATE: the pending requests of these subscriptions stop working (410)."""
    return ReactivationRequest.objects.filter(
        creator_id=creator_id, subscription_id__in=subscription_ids, status=PENDING
    ).update(status=ReactivationRequest.Status.SUPERSEDED, decided_at=now)


@dataclass
class BulkResult:
    batch: ReactivationBatch
    created: list[ReactivationRequest] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    # Subscription pk → uuid of the created requests, so answers need no query per row.
    subscription_uuids: dict[int, uuid.UUID] = field(default_factory=dict)


def _parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def reactivation_requests_create_bulk(
    *,
    creator: Creator,
    mode: str,
    subscription_ids: Sequence[Any] | None = None,
    subscriptions: QuerySet[Subscription] | None = None,
    actor: Actor,
    requested_by: User | None = None,
) -> BulkResult:
    """One mode sent to many subscriptions of a creator (SPEC §6.3).

    Either a list of subscription uuids (the API; Hotmart's success/fail lists) or a
    queryset ("select all matching this filter" in the dashboard; it is narrowed to the
    creator). Each refused subscription is listed in `failed` with its reason code;
    unknown ids, malformed ids and another creator's ids all answer `not_found`. Rows,
    supersedes and events are written in bulk in one transaction; the emails go out in
    batches after commit, so 10,000 subscriptions take seconds.
    """
    _mode_checked(mode)
    if (subscription_ids is None) == (subscriptions is None):
        raise ValueError("pass exactly one of subscription_ids or subscriptions")
    failed: list[dict[str, str]] = []
    wanted: list[uuid.UUID] = []
    malformed = 0
    if subscription_ids is not None:
        if len(subscription_ids) > BULK_MAX:
            raise DomainError(
                f"At most {BULK_MAX} subscriptions per bulk request.", code="too_many"
            )
        seen: set[uuid.UUID] = set()
        for raw in subscription_ids:
            parsed = _parse_uuid(raw)
            if parsed is None:
                malformed += 1
                failed.append(_failure(str(raw), NOT_FOUND))
            elif parsed not in seen:
                seen.add(parsed)
                wanted.append(parsed)
        scope = Subscription.objects.filter(creator=creator, uuid__in=wanted)
    else:
        assert subscriptions is not None
        scope = Subscription.objects.filter(
            creator=creator, pk__in=subscriptions.filter(creator=creator).values("pk")
        )

    with transaction.atomic():
        now = timezone.now()
        # Plain tuples, not model instances: at 10,000 rows the difference is seconds.
        rows = list(
            scope.select_for_update(of=("self",))
            .order_by("pk")  # one lock order, so two bulk actions cannot deadlock
            .values_list("pk", "uuid", "status", "plan_id")
        )
        plans = {
            plan.pk: plan
            for plan in Plan.objects.filter(
                creator=creator, pk__in={row[3] for row in rows}
            ).select_related("product")
        }
        by_uuid = {row[1]: row for row in rows}
        if subscriptions is not None:
            wanted = [row[1] for row in rows]
        eligible: list[tuple[int, uuid.UUID]] = []
        busy = _subscriptions_accepting_now([row[0] for row in rows], creator_id=creator.pk)
        for wanted_uuid in wanted:
            found = by_uuid.get(wanted_uuid)
            if found is None:
                refusal: Refusal | None = NOT_FOUND
            else:
                refusal = refusal_for(
                    status=found[2], plan=plans[found[3]], as_support=actor.is_support
                )
                if refusal is None and found[0] in busy:
                    refusal = IN_PROGRESS
            if refusal is not None:
                failed.append(_failure(str(wanted_uuid), refusal))
            else:
                assert found is not None
                eligible.append((found[0], found[1]))
        batch = ReactivationBatch.objects.create(
            creator=creator,
            mode=mode,
            requested_by=requested_by,
            requested_by_label=actor.label[:200],
            total=len(wanted) + malformed,
            created_count=len(eligible),
            refused_count=len(failed),
            created_at=now,
            status=ReactivationBatch.Status.SENDING if eligible else ReactivationBatch.Status.DONE,
            finished_at=None if eligible else now,
        )
        _supersede_pending(
            subscription_ids=[pk for pk, _ in eligible], now=now, creator_id=creator.pk
        )
        created = [
            ReactivationRequest(
                creator=creator,
                subscription_id=pk,
                mode=mode,
                requested_by=requested_by,
                requested_by_label=actor.label[:200],
                created_at=now,
                expires_at=now + REQUEST_LIFETIME,
                batch=batch,
            )
            for pk, _ in eligible
        ]
        bulk_insert_rows(created)
        if created:
            # Registered first, so the email tasks are queued before the events are
            # published (10,000 events are 100 broker messages) once this commits.
            _emails_after_commit([r.pk for r in created])
        events_record_bulk(
            [
                SubscriptionEvent(
                    creator=creator,
                    subscription_id=request.subscription_id,
                    type=EventType.REACTIVATION_REQUESTED,
                    data={**_requested_data(request, None), "batch": str(batch.uuid)},
                    occurred_at=now,
                )
                for request in created
            ]
        )
    return BulkResult(
        batch=batch, created=created, failed=failed, subscription_uuids=dict(eligible)
    )


def _failure(subscription: str, refusal: Refusal) -> dict[str, str]:
    return {"subscription": subscription, "code": refusal.code, "message": refusal.message}


def reactivation_request_resend(
    *,
    reactivation_request: ReactivationRequest,
    actor: Actor,
    requested_by: User | None = None,
) -> ReactivationRequest:
    """Resend = a fresh request with the same mode that supersedes this one.

    The subscriber gets a new link valid for another 72 hours; the old link answers 410
    ("replaced by a newer request"). Works for pending and expired requests alike; the
    subscription must still be eligible (support may resend for admin-cancelled ones).
    """
    status = reactivation_request.status
    if status not in (PENDING, ReactivationRequest.Status.EXPIRED):
        raise Conflict(
            f"A {status} request cannot be resent; send a new one.", code="not_resendable"
        )
    return reactivation_request_create(
        subscription=reactivation_request.subscription,
        mode=reactivation_request.mode,
        actor=actor,
        requested_by=requested_by,
    )


def reactivation_request_revoke(*, reactivation_request: ReactivationRequest, actor: Actor) -> bool:
    """Withdraw a pending request: its link answers 410. False when it was not pending."""
    with transaction.atomic():
        revoked = (
            ReactivationRequest.objects.filter(
                pk=reactivation_request.pk,
                creator_id=reactivation_request.creator_id,
                status=PENDING,
            )
            .filter(_EXPIRABLE)
            .update(
                status=ReactivationRequest.Status.SUPERSEDED,
                decided_at=timezone.now(),
                failure_message=f"Revoked by {actor}"[:500],
            )
        )
    return bool(revoked)


# --- expiry --------------------------------------------------------------------------

# A request whose charge is in flight or went through is never expired under it.
_EXPIRABLE = Q(charge__isnull=True) | ~Q(
    charge__status__in=[Charge.Status.PENDING, Charge.Status.SUCCEEDED]
)


def reactivation_request_expire_if_due(
    *, reactivation_request: ReactivationRequest, now: datetime | None = None
) -> bool:
    """Record the expiry of one request exactly once (status `expired` + event).

    A conditional UPDATE: when the link is opened late and the periodic job runs at the
    same moment, only one of them matches the pending row.
    """
    request = reactivation_request
    now = now or timezone.now()
    with transaction.atomic():
        expired = (
            ReactivationRequest.objects.filter(pk=request.pk, status=PENDING, expires_at__lte=now)
            .filter(_EXPIRABLE)
            .update(status=ReactivationRequest.Status.EXPIRED, decided_at=now)
        )
        if expired:
            event_record(
                subscription=request.subscription,
                type=EventType.REACTIVATION_EXPIRED,
                data={"request": str(request.uuid), "mode": request.mode},
                occurred_at=now,
            )
    if expired:
        request.status = ReactivationRequest.Status.EXPIRED
        request.decided_at = now
    return bool(expired)


def reactivation_requests_expire_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The periodic job's work: expire up to `limit` overdue pending requests.

    Rows are claimed with `select_for_update(skip_locked=True)`, so parallel runs and a
    late page view never record the same expiry twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            ReactivationRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=PENDING, expires_at__lte=now)
            .filter(_EXPIRABLE)
            .order_by("expires_at")
            .values_list("pk", "uuid", "mode", "subscription_id", "creator_id")[:limit]
        )
        if not due:
            return 0
        ReactivationRequest.objects.filter(pk__in=[row[0] for row in due]).update(
            status=ReactivationRequest.Status.EXPIRED, decided_at=now
        )
        events_record_bulk(
            [
                SubscriptionEvent(
                    creator_id=creator_id,
                    subscription_id=subscription_id,
                    type=EventType.REACTIVATION_EXPIRED,
                    data={"request": str(request_uuid), "mode": mode},
                    occurred_at=now,
                )
                for _, request_uuid, mode, subscription_id, creator_id in due
            ]
        )
    return len(due)
