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

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.errors import Conflict, DomainError
from accounts.models import Creator
from reactivation import eligibility
from reactivation.models import REQUEST_LIFETIME, Mode, ReactivationBatch, ReactivationRequest
from subscriptions import billing
from subscriptions.models import Charge, Plan, Status, Subscription, SubscriptionEvent
from subscriptions.outbox import event_record, events_record_bulk
from subscriptions.services import charge_call_gateway, charge_settle, subscription_status_set

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
    requested_by: AbstractBaseUser | None = None,
    requested_by_label: str = "",
    as_support: bool = False,
) -> ReactivationRequest:
    """Ask the subscriber to reactivate; nothing changes until they accept (SPEC §6.1).

    Refused with a reason code (409) unless the subscription is CANCELLED_BY_CUSTOMER or
    CANCELLED_BY_SELLER on a plan still on sale (CANCELLED_BY_ADMIN only `as_support`).
    A pending request of the same subscription is superseded: its link answers 410.
    The email with the link goes out after commit.
    """
    _mode_checked(mode)
    with transaction.atomic():
        locked = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan__product", "creator")
            .get(pk=subscription.pk)
        )
        refusal = eligibility.reactivation_refusal(locked, as_support=as_support)
        if refusal is None and _subscriptions_accepting_now([locked.pk]):
            refusal = IN_PROGRESS
        if refusal is not None:
            raise Conflict(refusal.message, code=refusal.code)
        now = timezone.now()
        previous = (
            ReactivationRequest.objects.filter(subscription=locked, status=PENDING)
            .values_list("uuid", flat=True)
            .first()
        )
        _supersede_pending(subscription_ids=[locked.pk], now=now)
        request = ReactivationRequest.objects.create(
            creator_id=locked.creator_id,
            subscription=locked,
            mode=mode,
            requested_by=requested_by,
            requested_by_label=requested_by_label[:200],
            created_at=now,
            expires_at=now + REQUEST_LIFETIME,
        )
        event_record(
            subscription=locked,
            type="reactivation.requested",
            data=_requested_data(request, str(previous) if previous else None),
            occurred_at=now,
        )
        _emails_after_commit([request.pk])
    return request


IN_PROGRESS = eligibility.Refusal(
    "in_progress", "The subscriber is accepting the current request right now; try again later."
)


def _subscriptions_accepting_now(subscription_ids: Sequence[int]) -> set[int]:
    """Subscriptions whose pending request has a charge in flight: never superseded,
    revoked or expired under it, or the subscriber could pay without being reactivated."""
    return set(
        ReactivationRequest.objects.filter(
            subscription_id__in=subscription_ids,
            status=PENDING,
            charge__status=Charge.Status.PENDING,
        ).values_list("subscription_id", flat=True)
    )


def _supersede_pending(*, subscription_ids: Sequence[int], now: datetime) -> int:
    """One UPDATE: the pending requests of these subscriptions stop working (410)."""
    return ReactivationRequest.objects.filter(
        subscription_id__in=subscription_ids, status=PENDING
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
    requested_by: AbstractBaseUser | None = None,
    requested_by_label: str = "",
    as_support: bool = False,
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
                failed.append(_failure(str(raw), eligibility.NOT_FOUND))
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
            for plan in Plan.objects.filter(pk__in={row[3] for row in rows}).select_related(
                "product"
            )
        }
        by_uuid = {row[1]: row for row in rows}
        if subscriptions is not None:
            wanted = [row[1] for row in rows]
        eligible: list[tuple[int, uuid.UUID]] = []
        busy = _subscriptions_accepting_now([row[0] for row in rows])
        for wanted_uuid in wanted:
            found = by_uuid.get(wanted_uuid)
            if found is None:
                refusal: eligibility.Refusal | None = eligibility.NOT_FOUND
            else:
                refusal = eligibility.refusal_for(
                    status=found[2], plan=plans[found[3]], as_support=as_support
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
            requested_by_label=requested_by_label[:200],
            total=len(wanted) + malformed,
            created_count=len(eligible),
            refused_count=len(failed),
            created_at=now,
            status=ReactivationBatch.Status.SENDING
            if eligible
            else ReactivationBatch.Status.DONE,
            finished_at=None if eligible else now,
        )
        _supersede_pending(subscription_ids=[pk for pk, _ in eligible], now=now)
        created = ReactivationRequest.objects.bulk_create(
            [
                ReactivationRequest(
                    creator=creator,
                    subscription_id=pk,
                    mode=mode,
                    requested_by=requested_by,
                    requested_by_label=requested_by_label[:200],
                    created_at=now,
                    expires_at=now + REQUEST_LIFETIME,
                    batch=batch,
                )
                for pk, _ in eligible
            ],
            batch_size=2000,
        )
        events_record_bulk(
            [
                SubscriptionEvent(
                    creator=creator,
                    subscription_id=request.subscription_id,
                    type="reactivation.requested",
                    data={**_requested_data(request, None), "batch": str(batch.uuid)},
                    occurred_at=now,
                )
                for request in created
            ]
        )
        if created:
            _emails_after_commit([r.pk for r in created])
    return BulkResult(
        batch=batch, created=created, failed=failed, subscription_uuids=dict(eligible)
    )


def _failure(subscription: str, refusal: eligibility.Refusal) -> dict[str, str]:
    return {"subscription": subscription, "code": refusal.code, "message": refusal.message}


def reactivation_request_resend(
    *, request: ReactivationRequest, requested_by: AbstractBaseUser | None = None, label: str = ""
) -> ReactivationRequest:
    """Resend = a fresh request with the same mode that supersedes this one.

    The subscriber gets a new link valid for another 72 hours; the old link answers 410
    ("replaced by a newer request"). Works for pending and expired requests alike; the
    subscription must still be eligible (support may resend for admin-cancelled ones).
    """
    if request.status not in (PENDING, ReactivationRequest.Status.EXPIRED):
        raise Conflict(
            f"A {request.status} request cannot be resent; send a new one.", code="not_resendable"
        )
    return reactivation_request_create(
        subscription=request.subscription,
        mode=request.mode,
        requested_by=requested_by,
        requested_by_label=label or request.requested_by_label,
        as_support=bool(label.startswith("support:")),
    )


def reactivation_request_revoke(*, request: ReactivationRequest, actor: str = "") -> bool:
    """Withdraw a pending request: its link answers 410. False when it was not pending."""
    with transaction.atomic():
        revoked = (
            ReactivationRequest.objects.filter(pk=request.pk, status=PENDING)
            .filter(_EXPIRABLE)
            .update(
            status=ReactivationRequest.Status.SUPERSEDED,
            decided_at=timezone.now(),
                failure_message=f"Revoked by {actor}"[:500] if actor else "Revoked",
            )
        )
    return bool(revoked)


# --- expiry --------------------------------------------------------------------------

# A request whose charge is in flight or went through is never expired under it.
_EXPIRABLE = Q(charge__isnull=True) | ~Q(
    charge__status__in=[Charge.Status.PENDING, Charge.Status.SUCCEEDED]
)


def reactivation_request_expire_if_due(
    *, request: ReactivationRequest, now: datetime | None = None
) -> bool:
    """Record the expiry of one request exactly once (status `expired` + event).

    A conditional UPDATE: when the link is opened late and the periodic job runs at the
    same moment, only one of them matches the pending row.
    """
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
                type="reactivation.expired",
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
                    type="reactivation.expired",
                    data={"request": str(request_uuid), "mode": mode},
                    occurred_at=now,
                )
                for _, request_uuid, mode, subscription_id, creator_id in due
            ]
        )
    return len(due)


# --- the subscriber's decision -------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What the subscriber's POST did. `outcome` ∈ accepted, rejected, failed,
    processing (another accept is charging right now), retry (the processor did not
    answer; the request stays pending)."""

    outcome: str
    request: ReactivationRequest
    message: str = ""
    same_cycle: bool = False


def _locked_open(request_id: int, subscription_id: int) -> ReactivationRequest:
    """Lock subscription then request; RequestGone unless the request is still pending."""
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan__product", "creator", "subscriber")
        .get(pk=subscription_id)
    )
    request = (
        ReactivationRequest.objects.select_for_update(of=("self",))
        .select_related("charge")
        .get(pk=request_id)
    )
    request.subscription = subscription
    if request.status != PENDING:
        raise RequestGone(request)
    return request


def _expired(request: ReactivationRequest, now: datetime) -> bool:
    """Past its 72 hours, unless a charge it started may have taken money."""
    if now < request.expires_at:
        return False
    charge = request.charge
    return charge is None or charge.status not in (Charge.Status.PENDING, Charge.Status.SUCCEEDED)


def _open_or_expire(request: ReactivationRequest, now: datetime) -> None:
    """RequestGone unless the request can still be decided; a late decision records the
    expiry (once) on the way."""
    try:
        with transaction.atomic():
            locked = _locked_open(request.pk, request.subscription_id)
            if _expired(locked, now):
                raise RequestGone(locked)
    except RequestGone as gone:
        if gone.request.status == PENDING:
            reactivation_request_expire_if_due(request=gone.request, now=now)
            gone.request.refresh_from_db(fields=["status", "decided_at"])
            raise RequestGone(gone.request) from None
        raise


def reactivation_request_reject(*, request: ReactivationRequest) -> Decision:
    """The subscriber said no: `rejected` + `reactivation.rejected`; nothing else changes."""
    now = timezone.now()
    _open_or_expire(request, now)
    with transaction.atomic():
        locked = _locked_open(request.pk, request.subscription_id)
        if locked.charge is not None and locked.charge.status == Charge.Status.PENDING:
            return Decision(
                "processing", locked, "Your payment is being processed; reload in a moment."
            )
        locked.status = ReactivationRequest.Status.REJECTED
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at"])
        event_record(
            subscription=locked.subscription,
            type="reactivation.rejected",
            data={"request": str(locked.uuid), "mode": locked.mode},
            occurred_at=now,
        )
    return Decision("rejected", locked)


def reactivation_request_accept(*, request: ReactivationRequest) -> Decision:
    """The subscriber accepts on local date R (creator's time zone); SPEC §6.1.

    Same cycle (R < paid_through): ACTIVE, anchor unchanged, next charge = paid_through,
    no charge — *billing day 10, cancelled April 15, accepted April 20 → next charge
    May 10*. Outside the cycle: anchor := R, next charge = paid_through = R + 1 period;
    `reactivate_and_charge` first charges the period starting R through the creator's
    gateway (*accepted May 20 → charged May 20, next charge June 20*). A declined charge
    leaves the subscription cancelled and the request `failed` with the processor's
    message. The gateway is called outside any transaction with a key derived from the
    request, so two accepts at once (rows locked) reactivate and charge once.
    """
    now = timezone.now()
    _open_or_expire(request, now)
    with transaction.atomic():
        locked = _locked_open(request.pk, request.subscription_id)
        subscription = locked.subscription
        charge = locked.charge
        if charge is None:
            refusal = eligibility.reactivation_refusal(subscription, as_support=True)
            if refusal is not None:
                return _fail(locked, refusal.message, now)
            accepted_on = billing.local_date(now, subscription.creator.tz)
            outcome = _outcome(locked, subscription, accepted_on)
            if not outcome.charge_today:
                _apply(locked, subscription, outcome, now)
                return Decision("accepted", locked, same_cycle=outcome.same_cycle)
            charge = _charge_open(locked, subscription, outcome)
            locked.charge = charge
            locked.save(update_fields=["charge"])
        elif charge.status == Charge.Status.PENDING and (
            (now - charge.created_at).total_seconds() < CHARGE_IN_FLIGHT_SECONDS
        ):
            return Decision(
                "processing", locked, "Your payment is being processed; reload in a moment."
            )
        # Otherwise an earlier attempt failed transiently or died mid-way: call again
        # with the same idempotency key, so the processor charges at most once.

    charge.subscription = subscription
    result = charge_call_gateway(charge=charge)

    with transaction.atomic():
        locked = _locked_open(request.pk, request.subscription_id)
        subscription = locked.subscription
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        charge.subscription = subscription
        charge_settle(charge=charge, result=result)
        locked.charge = charge
        if charge.status == Charge.Status.SUCCEEDED:
            outcome = _outcome(locked, subscription, charge.period_start)
            _apply(locked, subscription, outcome, now, charged=True)
            return Decision("accepted", locked, same_cycle=False)
        if charge.status == Charge.Status.DECLINED:
            return _fail(locked, charge.failure_message or "The payment was declined.", now)
    return Decision(
        "retry",
        locked,
        "The payment processor did not answer. Nothing was charged; please try again later.",
    )


def _outcome(
    request: ReactivationRequest, subscription: Subscription, accepted_on: Any
) -> billing.ReactivationOutcome:
    return billing.reactivation_outcome(
        mode=request.mode,
        paid_through=subscription.paid_through,
        anchor=subscription.billing_anchor,
        period=subscription.plan.period,
        accepted_on=accepted_on,
    )


def _charge_open(
    request: ReactivationRequest, subscription: Subscription, outcome: billing.ReactivationOutcome
) -> Charge:
    """The reactivation charge, keyed by the request: one request charges at most once."""
    assert outcome.charge_period_start is not None and outcome.charge_period_end is not None
    key = f"reactivation_{request.uuid.hex}"
    try:
        with transaction.atomic():
            return Charge.objects.create(
                creator_id=subscription.creator_id,
                subscription=subscription,
                amount=subscription.plan.price,
                currency=subscription.plan.currency,
                kind=Charge.Kind.REACTIVATION,
                period_start=outcome.charge_period_start,
                period_end=outcome.charge_period_end,
                idempotency_key=key,
                gateway=subscription.creator.gateway,
            )
    except IntegrityError:
        return Charge.objects.get(idempotency_key=key)


def _apply(
    request: ReactivationRequest,
    subscription: Subscription,
    outcome: billing.ReactivationOutcome,
    now: datetime,
    *,
    charged: bool = False,
) -> None:
    """Reactivate: new dates, cancellation cleared (its history stays in the events)."""
    subscription.billing_anchor = outcome.billing_anchor
    subscription.next_charge_date = outcome.next_charge_date
    subscription.paid_through = outcome.paid_through
    if charged:
        subscription.recurrence += 1
    subscription.unpaid_recurrences = 0
    subscription.retry_attempt = 0
    subscription.next_retry_date = None
    subscription.cancelled_at = None
    subscription.cancellation_source = ""
    subscription.cancellation_reason = ""
    data = {"mode": request.mode, "same_cycle": outcome.same_cycle, "request": str(request.uuid)}
    event_record(
        subscription=subscription,
        type="reactivation.accepted",
        data={**data, "charge": str(request.charge.uuid) if request.charge_id else None},
        occurred_at=now,
    )
    subscription_status_set(subscription=subscription, status=Status.ACTIVE, data=data)
    subscription.save()
    request.status = ReactivationRequest.Status.ACCEPTED
    request.decided_at = now
    request.save(update_fields=["status", "decided_at"])
    event_record(
        subscription=subscription,
        type="subscription.reactivated",
        data={
            **data,
            "billing_anchor": outcome.billing_anchor.isoformat(),
            "next_charge_date": outcome.next_charge_date.isoformat(),
            "paid_through": outcome.paid_through.isoformat(),
        },
        occurred_at=now,
    )


def _fail(request: ReactivationRequest, message: str, now: datetime) -> Decision:
    request.status = ReactivationRequest.Status.FAILED
    request.decided_at = now
    request.failure_message = message[:500]
    request.save(update_fields=["status", "decided_at", "failure_message"])
    event_record(
        subscription=request.subscription,
        type="reactivation.failed",
        data={
            "request": str(request.uuid),
            "mode": request.mode,
            "message": request.failure_message,
            "charge": str(request.charge.uuid) if request.charge_id else None,
        },
        occurred_at=now,
    )
    return Decision("failed", request, request.failure_message)
