"""Paying a late subscription at once, from the subscriber's payment page (SPEC §4.6).

The subscriber gives a new payment method; the unpaid period is charged with it right
away (a `retry` charge with its own idempotency key, never the schedule's). Paid: the
method is saved (`payment_method.updated`), the subscription returns to ACTIVE on its
original anchor with `paid_through` one period on, the pending retries end, and
`subscription.recovered` is recorded. Declined: nothing changes and the old method stays.

Like every charge, the gateway is called outside any transaction: a `pending` charge is
committed first under the subscription's row lock, so twenty simultaneous submissions
find it and wait for its answer instead of charging again (as does the retry job).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from subscriptions import billing, transitions
from subscriptions.gateways import ChargeOutcome, GatewayError, get_gateway
from subscriptions.models import Charge, Status, Subscription
from subscriptions.services import (
    charge_build,
    charge_call_gateway,
    charge_settle,
    transition_record,
)

logger = logging.getLogger(__name__)

# A pending charge younger than this is being charged by someone (the billing jobs' lease).
PENDING_LEASE = timedelta(minutes=10)
PAGE_KEY_MARK = "_pay"


@dataclass(frozen=True)
class OverduePayment:
    """`paid`, `declined`, `error` (the processor did not answer; try again),
    `processing` (another submission is being charged) or `nothing_due`."""

    outcome: str
    charge: Charge | None = None
    message: str = ""


def unpaid_period_start(subscription: Subscription) -> date | None:
    """While DELAYED, the unpaid period is the one before `next_charge_date`."""
    if subscription.status != Status.DELAYED or subscription.next_charge_date is None:
        return None
    anchor, period = subscription.billing_anchor, subscription.plan.period
    n = billing.period_index(anchor, period, subscription.next_charge_date)
    return billing.due_date(anchor, period, n - 1)


def is_payment_page_charge(charge: Charge) -> bool:
    return PAGE_KEY_MARK in charge.idempotency_key


def _lock(subscription_id: int) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan__product", "creator", "subscriber")
        .unscoped("by id: the subscription of the payment link being paid")
        .get(pk=subscription_id)
    )


def _open_page_charge(subscription: Subscription, period_start: date) -> Charge | None:
    """The charge this submission makes, committed `pending`; None when another one is
    in flight. A page charge that met a transient error is taken over with its key (the
    processor may have charged it); after a decline the next one gets a new key."""
    now = timezone.now()
    if Charge.objects.filter(
        subscription=subscription,
        status=Charge.Status.PENDING,
        updated_at__gt=now - PENDING_LEASE,
    ).exists():
        return None
    page_charges = list(
        Charge.objects.filter(
            subscription=subscription,
            period_start=period_start,
            idempotency_key__contains=PAGE_KEY_MARK,
        ).order_by("-created_at", "-id")
    )
    last = page_charges[0] if page_charges else None
    if last is not None and last.status in (Charge.Status.FAILED, Charge.Status.PENDING):
        last.status = Charge.Status.PENDING
        last.save(update_fields=["status", "updated_at"])
        return last
    charge = charge_build(
        subscription=subscription,
        kind=Charge.Kind.RETRY,
        period_start=period_start,
        attempt=subscription.retry_attempt + 1,
    )
    charge.idempotency_key += f"{PAGE_KEY_MARK}{len(page_charges) + 1}"
    charge.save(force_insert=True)
    return charge


def subscription_pay_overdue(
    *, subscription: Subscription, payment_method: str, actor: str = "subscriber"
) -> OverduePayment:
    """Charge the unpaid period of a DELAYED subscription now with `payment_method`.

    Example: monthly, anchor Jan 10, the Feb 10 renewal declined (DELAYED, retries on
    Feb 11/13/15, next_charge_date Mar 10). Paid on Feb 12 with a new card: ACTIVE,
    anchor still Jan 10, paid_through = next_charge_date = Mar 10, no retry pending.
    """
    creator = subscription.creator
    gateway = get_gateway(creator)
    try:
        gateway.validate_payment_method(
            payment_method=payment_method, customer=subscription.subscriber.gateway_customer_id
        )
    except GatewayError as exc:
        raise DomainError(str(exc), code="invalid_payment_method") from exc

    with transaction.atomic():
        locked = _lock(subscription.pk)
        period_start = unpaid_period_start(locked)
        if period_start is None:
            return OverduePayment("nothing_due")
        charge = _open_page_charge(locked, period_start)
        if charge is None:
            return OverduePayment("processing")

    charge.subscription = locked
    locked.payment_method = payment_method  # charged with the new method, saved if paid
    result = charge_call_gateway(charge=charge, gateway=gateway)

    with transaction.atomic():
        locked = _lock(subscription.pk)
        charge = Charge.objects.get(pk=charge.pk, subscription=locked)
        charge.subscription = locked
        if not charge_settle(charge=charge, result=result):
            return OverduePayment("processing", charge)
        if result.outcome is ChargeOutcome.ERROR:
            return OverduePayment("error", charge, result.message)
        if result.outcome is ChargeOutcome.DECLINED:
            return OverduePayment("declined", charge, result.message)
        if unpaid_period_start(locked) != charge.period_start:
            # Cancelled (or paid another way) while the charge was out: the money is
            # recorded on the charge; the subscription is not moved.
            logger.warning("subscription %s changed while paying %s", locked.uuid, charge.uuid)
            return OverduePayment("paid", charge)
        subscription_recover_apply(
            subscription=locked,
            charge=charge,
            payment_method=payment_method,
            actor=actor,
            card=result.details.get("card"),
        )
        locked.save()
    return OverduePayment("paid", charge)


def subscription_recover_apply(
    *,
    subscription: Subscription,
    charge: Charge,
    payment_method: str,
    actor: str,
    card: dict[str, Any] | None = None,
) -> None:
    """The unpaid period was paid with `payment_method`: save it, back to ACTIVE on the
    original anchor, retries ended. Caller holds the row lock and saves."""
    events = transitions.recovered(
        subscription,
        charge=charge,
        payment_method=payment_method,
        source=actor,
        card=card,
        today=billing.local_date(timezone.now(), subscription.creator.tz),
    )
    transition_record(subscription=subscription, events=events)
