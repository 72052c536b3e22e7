"""The subscriber's decision on a reactivation request (SPEC §6.1, §6.2): accept or
reject, each a keyword-only service with its events in the same transaction.

Lock order is subscription first, then the request, as in `reactivation.services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from reactivation.models import ReactivationRequest
from reactivation.services import (
    CHARGE_IN_FLIGHT_SECONDS,
    PENDING,
    RequestGone,
    reactivation_request_expire_if_due,
)
from subscriptions.billing import local_date
from subscriptions.events import EventType
from subscriptions.models import Charge, Subscription
from subscriptions.outbox import event_record
from subscriptions.reactivation_rules import (
    ReactivationOutcome,
    reactivation_outcome,
    reactivation_refusal,
)
from subscriptions.services import (
    charge_call_gateway,
    charge_open,
    charge_settle,
    subscription_reactivate,
)


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
            reactivation_request_expire_if_due(reactivation_request=gone.request, now=now)
            gone.request.refresh_from_db(fields=["status", "decided_at"])
            raise RequestGone(gone.request) from None
        raise


def reactivation_request_reject(*, reactivation_request: ReactivationRequest) -> Decision:
    """The subscriber said no: `rejected` + `reactivation.rejected`; nothing else changes."""
    request = reactivation_request
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
            type=EventType.REACTIVATION_REJECTED,
            data={"request": str(locked.uuid), "mode": locked.mode},
            occurred_at=now,
        )
    return Decision("rejected", locked)


def reactivation_request_accept(*, reactivation_request: ReactivationRequest) -> Decision:
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
    request = reactivation_request
    now = timezone.now()
    _open_or_expire(request, now)
    with transaction.atomic():
        locked = _locked_open(request.pk, request.subscription_id)
        subscription = locked.subscription
        charge = locked.charge
        if charge is None:
            # Who asked was checked when the request was made (support may ask for an
            # admin-cancelled one); here only a change since then refuses.
            refusal = reactivation_refusal(subscription, as_support=True)
            if refusal is not None:
                return _fail(locked, refusal.message, now)
            accepted_on = local_date(now, subscription.creator.tz)
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
) -> ReactivationOutcome:
    return reactivation_outcome(
        mode=request.mode,
        paid_through=subscription.paid_through,
        anchor=subscription.billing_anchor,
        period=subscription.plan.period,
        accepted_on=accepted_on,
    )


def reactivation_charge_key(request: ReactivationRequest) -> str:
    """Keyed by the request, so one request charges at most once."""
    return f"reactivation_{request.uuid.hex}"


def _charge_open(
    request: ReactivationRequest, subscription: Subscription, outcome: ReactivationOutcome
) -> Charge:
    assert outcome.charge_period_start is not None and outcome.charge_period_end is not None
    return charge_open(
        subscription=subscription,
        kind=Charge.Kind.REACTIVATION,
        period_start=outcome.charge_period_start,
        period_end=outcome.charge_period_end,
        idempotency_key=reactivation_charge_key(request),
    )


def _apply(
    request: ReactivationRequest,
    subscription: Subscription,
    outcome: ReactivationOutcome,
    now: datetime,
    *,
    charged: bool = False,
) -> None:
    """The request is accepted; the subscription is reactivated by its own service."""
    data = {"mode": request.mode, "same_cycle": outcome.same_cycle, "request": str(request.uuid)}
    event_record(
        subscription=subscription,
        type=EventType.REACTIVATION_ACCEPTED,
        data={**data, "charge": str(request.charge.uuid) if request.charge is not None else None},
        occurred_at=now,
    )
    request.subscription = subscription_reactivate(
        subscription=subscription, outcome=outcome, charged=charged, data=data, occurred_at=now
    )
    request.status = ReactivationRequest.Status.ACCEPTED
    request.decided_at = now
    request.save(update_fields=["status", "decided_at"])


def _fail(request: ReactivationRequest, message: str, now: datetime) -> Decision:
    request.status = ReactivationRequest.Status.FAILED
    request.decided_at = now
    request.failure_message = message[:500]
    request.save(update_fields=["status", "decided_at", "failure_message"])
    event_record(
        subscription=request.subscription,
        type=EventType.REACTIVATION_FAILED,
        data={
            "request": str(request.uuid),
            "mode": request.mode,
            "message": request.failure_message,
            "charge": str(request.charge.uuid) if request.charge is not None else None,
        },
        occurred_at=now,
    )
    return Decision("failed", request, request.failure_message)
