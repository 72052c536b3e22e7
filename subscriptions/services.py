"""Writes on subscriptions: each a keyword-only function, one transaction, with its events.

Gateway calls never run inside a transaction: a charge row is committed as `pending`
first, the gateway is called with the charge's idempotency key, and the result is
applied under a row lock. A crash in between leaves a `pending` charge that the next
run repeats with the same key, so the processor charges once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Creator
from core.actors import Actor
from core.errors import DomainError
from subscriptions import billing, transitions
from subscriptions.cards import card_expires_on
from subscriptions.coupons import coupon_applies, coupon_apply, discount
from subscriptions.declines import decline_code
from subscriptions.events import EventType
from subscriptions.gateways import (
    ChargeOutcome,
    ChargeResult,
    GatewayError,
    GatewayMisconfigured,
    PaymentGateway,
    get_gateway,
)
from subscriptions.gateways.configure import (
    creator_gateway_error_clear,
    creator_gateway_error_record,
)
from subscriptions.models import (
    Charge,
    Coupon,
    Plan,
    Product,
    Status,
    Subscriber,
    Subscription,
)
from subscriptions.outbox import event_record
from subscriptions.reactivation_rules import ReactivationOutcome
from subscriptions.trials import MAX_TRIAL_DAYS, trial_granted, trial_start

# A sale whose started_at is this close to now is a sale, not an import (clock skew).
IMPORT_TOLERANCE = timedelta(minutes=5)


def local_today(creator: Creator, now: datetime | None = None) -> Any:
    return billing.local_date(now or timezone.now(), creator.tz)


def transition_record(
    *,
    subscription: Subscription,
    events: list[transitions.Event],
    occurred_at: datetime | None = None,
) -> None:
    """Record the events a transition returned, in the caller's transaction (the one
    that saves the change). Batch jobs call it inside `events_batched()`."""
    for event in events:
        event_record(
            subscription=subscription, type=event.type, data=event.data, occurred_at=occurred_at
        )


# --- products and plans ----------------------------------------------------------------


@transaction.atomic
def product_create(*, creator: Creator, name: str) -> Product:
    return Product.objects.create(creator=creator, name=name.strip())


@transaction.atomic
def plan_create(
    *,
    creator: Creator,
    product: Product,
    name: str,
    price: Decimal,
    currency: str,
    period: str,
    max_cycles: int | None = None,
    trial_days: int = 0,
    trial_requires_card: bool = True,
) -> Plan:
    if product.creator_id != creator.pk:
        raise DomainError("Unknown product.", code="unknown_product")
    if period not in billing.PERIODS:
        raise DomainError(f"Unknown period {period!r}.", code="invalid_period")
    if price < 0:
        raise DomainError("The price cannot be negative.", code="invalid_price")
    if not 0 <= trial_days <= MAX_TRIAL_DAYS:
        raise DomainError(f"A free trial lasts 0 to {MAX_TRIAL_DAYS} days.", code="invalid_trial")
    return Plan.objects.create(
        creator=creator,
        product=product,
        name=name.strip(),
        price=price,
        currency=currency.upper(),
        period=period,
        max_cycles=max_cycles,
        trial_days=trial_days,
        trial_requires_card=trial_requires_card,
    )


# --- charges -------------------------------------------------------------------------


def charge_idempotency_key(*, subscription: Subscription, period_start: Any, attempt: int) -> str:
    return f"sub_{subscription.uuid.hex}_{period_start.isoformat()}_a{attempt}"


def period_end_for(*, subscription: Subscription, period_start: Any) -> Any:
    """The due date after `period_start`, counted from the anchor (Feb 28 → Mar 31 for a
    Jan 31 anchor); from `period_start` itself when it is not one of the anchor's dates."""
    anchor, period = subscription.billing_anchor, subscription.plan.period
    try:
        n = billing.period_index(anchor, period, period_start)
    except ValueError:
        return billing.due_date(period_start, period, 1)
    return billing.due_date(anchor, period, n + 1)


def due_amount(subscription: Subscription, kind: str, period_start: Any) -> Decimal:
    """What a due-date charge of the period starting `period_start` costs (`due_price`)."""
    return due_price(subscription, kind, period_start)[0]


def due_price(subscription: Subscription, kind: str, period_start: Any) -> tuple[Decimal, Decimal]:
    """The amount and discount of a due-date charge (first, renewal, retry) of the period
    starting `period_start`: the plan's price, plus the prorated adjustment of a
    billing-day change for that period (subscriptions/billing_day.py; a credit is
    negative), less the subscription's coupon for that period (subscriptions/coupons.py);
    never below zero. Reads only the row: no query."""
    price = subscription.plan.price
    if kind not in (Charge.Kind.FIRST, Charge.Kind.RENEWAL, Charge.Kind.RETRY):
        return price, Decimal(0)
    if subscription.charge_adjustment and subscription.charge_adjustment_for == period_start:
        price = max(price + subscription.charge_adjustment, Decimal(0))
    off = Decimal(0)
    if coupon_applies(subscription, period_start):
        off = discount(
            price=price,
            currency=subscription.plan.currency,
            percent_off=subscription.coupon_percent_off,
            amount_off=subscription.coupon_amount_off,
        )
    return price - off, off


def charge_build(
    *,
    subscription: Subscription,
    kind: str,
    period_start: Any,
    attempt: int = 0,
    amount: Decimal | None = None,
    period_end: Any = None,
    idempotency_key: str = "",
) -> Charge:
    """An unsaved `pending` charge for (subscription, period, attempt) with its key.

    The key is derived from (subscription, period, attempt) unless the caller names one
    (a reactivation charge is keyed by its request); the period ends at the anchor's
    next due date unless the caller says where.
    """
    plan = subscription.plan
    due, off = due_price(subscription, kind, period_start) if amount is None else (amount, 0)
    return Charge(
        creator_id=subscription.creator_id,
        subscription=subscription,
        amount=due,
        discount=off,
        coupon_id=subscription.coupon_id if off else None,
        currency=plan.currency,
        kind=kind,
        period_start=period_start,
        period_end=period_end
        or period_end_for(subscription=subscription, period_start=period_start),
        attempt=attempt,
        idempotency_key=idempotency_key
        or charge_idempotency_key(
            subscription=subscription, period_start=period_start, attempt=attempt
        ),
        gateway=subscription.creator.gateway,
    )


def charge_open(
    *,
    subscription: Subscription,
    kind: str,
    period_start: Any,
    attempt: int = 0,
    amount: Decimal | None = None,
    period_end: Any = None,
    idempotency_key: str = "",
) -> Charge:
    """The charge for (subscription, period, attempt), created `pending` if new: the one
    place a single charge row is opened (sales, reactivations; the billing engine opens
    its batches from `charge_build`).

    Runs in the caller's transaction. The unique idempotency key makes a second run
    find the first run's row instead of charging again.
    """
    charge = charge_build(
        subscription=subscription,
        kind=kind,
        period_start=period_start,
        attempt=attempt,
        amount=amount,
        period_end=period_end,
        idempotency_key=idempotency_key,
    )
    existing = Charge.objects.filter(
        creator_id=subscription.creator_id, idempotency_key=charge.idempotency_key
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            charge.save()
            return charge
    except IntegrityError:
        return Charge.objects.get(idempotency_key=charge.idempotency_key)


def charge_intent(charge: Charge) -> str:
    """ "" for a charge that pays a period (first, renewal, retry, reactivation); for a
    plan switch's charge, what its tries share (subscriptions/plan_changes.py)."""
    if charge.kind == Charge.Kind.PLAN_CHANGE:
        return charge.idempotency_key.rsplit("_t", 1)[0]
    return ""


def charge_call_gateway(*, charge: Charge, gateway: PaymentGateway | None = None) -> ChargeResult:
    """Call the creator's gateway for a pending charge. Never inside a transaction.

    Batch callers pass the creator's `gateway` so credentials are decrypted once.
    """
    subscription = charge.subscription
    creator = subscription.creator
    if not subscription.payment_method:
        # A free trial that did not ask for a card (subscriptions/trials.py): a decline
        # the subscriber answers from the payment-failed email's link.
        return ChargeResult(
            ChargeOutcome.DECLINED,
            "",
            "No payment method was saved for this subscription.",
            {"decline_code": "no_payment_method"},
        )
    gateway = gateway or get_gateway(creator)
    metadata = {
        "subscription": str(subscription.uuid),
        "charge": str(charge.uuid),
        "creator": str(subscription.creator.uuid),
        # With these a gateway can find an earlier attempt's payment for the same period
        # before charging under a new key (Stripe: see its gateway).
        "period_start": charge.period_start.isoformat(),
        "attempt": str(charge.attempt),
    }
    if intent := charge_intent(charge):
        # A plan switch's charge: a later try finds only that switch's payment, never
        # the period's renewal.
        metadata["intent"] = intent
    try:
        result = gateway.charge(
            amount=charge.amount,
            currency=charge.currency,
            payment_method=subscription.payment_method,
            idempotency_key=charge.idempotency_key,
            metadata=metadata,
            customer=subscription.subscriber.gateway_customer_id,
            # Set only while an earlier try's payment is still processing (a transient
            # answer that carried the gateway's id): read its status, do not charge again.
            reference=charge.gateway_reference if charge.status != Charge.Status.DECLINED else "",
        )
    except GatewayMisconfigured as exc:
        # The creator's key was refused: not the subscriber's decline. Kept open (retried
        # with the same key) and shown to the creator until they fix it.
        creator_gateway_error_record(creator=creator, message=str(exc))
        return ChargeResult(ChargeOutcome.ERROR, "", str(exc), {"misconfigured": True})
    except GatewayError as exc:
        return ChargeResult(ChargeOutcome.DECLINED, "", str(exc))
    if result.succeeded:
        creator_gateway_error_clear(creator=creator)
        _card_expiry_keep(subscription, result)
    return result


def _card_expiry_keep(subscription: Subscription, result: ChargeResult) -> None:
    """The charged card's expiry, as the processor just reported it, kept on the
    subscription when that card is still its saved method (a card being tried from the
    payment page is saved, expiry included, only once it paid)."""
    expires = card_expires_on(result.details.get("card"))
    if expires is None or expires == subscription.card_expires_on:
        return
    Subscription.objects.filter(
        pk=subscription.pk, payment_method=subscription.payment_method
    ).update(card_expires_on=expires)
    subscription.card_expires_on = expires


def charge_settle(*, charge: Charge, result: ChargeResult) -> bool:
    """Record the gateway's answer on a charge and emit its event.

    Runs in the caller's transaction with the subscription locked. False when the
    charge was already settled (a parallel run got there first): the caller stops.
    """
    if not charge_result_apply(charge=charge, result=result):
        return False
    charge.save(update_fields=["status", "gateway_reference", "failure_message", "updated_at"])
    return True


def charge_result_apply(*, charge: Charge, result: ChargeResult) -> bool:
    """`charge_settle` without the save: batch callers save many charges at once.

    A transient error (`failed`) records no event: the same attempt is tried again, and
    one scheduled attempt writes one `charge.succeeded` or `charge.failed`, never one
    per try (`charge_failed_record` writes it when the attempt is given up).
    """
    if charge.status not in (Charge.Status.PENDING, Charge.Status.FAILED):
        return False
    if result.outcome is ChargeOutcome.SUCCEEDED:
        charge.status = Charge.Status.SUCCEEDED
    elif result.outcome is ChargeOutcome.DECLINED:
        charge.status = Charge.Status.DECLINED
    else:
        charge.status = Charge.Status.FAILED
    charge.gateway_reference = result.reference or charge.gateway_reference
    charge.failure_message = result.message[:500]
    charge.updated_at = timezone.now()
    if charge.status == Charge.Status.SUCCEEDED:
        event_record(
            subscription=charge.subscription,
            type=EventType.CHARGE_SUCCEEDED,
            data=_charge_data(charge),
        )
    elif charge.status == Charge.Status.DECLINED:
        charge_failed_record(charge=charge, result=result)
    return True


def charge_failed_record(*, charge: Charge, result: ChargeResult) -> None:
    """Record the one `charge.failed` of a scheduled attempt: `attempt` counts from 1
    (the due-date charge), `decline_code` is the processor's when it gave one, and
    `outcome` is `error` for a transient error given up on the next attempt's day."""
    event_record(
        subscription=charge.subscription,
        type=EventType.CHARGE_FAILED,
        data={
            **_charge_data(charge),
            "outcome": result.outcome.value,
            "attempt": charge.attempt + 1,
            "decline_code": decline_code(result.details),
        },
    )


def _charge_data(charge: Charge) -> dict[str, Any]:
    return {
        "charge": str(charge.uuid),
        "amount": str(charge.amount),
        "currency": charge.currency,
        "kind": charge.kind,
        "outcome": "succeeded" if charge.status == Charge.Status.SUCCEEDED else "declined",
        "message": charge.failure_message,
        "period_start": charge.period_start.isoformat(),
        "period_end": charge.period_end.isoformat(),
    }


@transaction.atomic
def subscription_payment_method_set(
    *, subscription: Subscription, payment_method: str, data: dict[str, Any]
) -> Subscription:
    """Save a new payment method and record `payment_method.updated` (with `data`). A
    hard decline stopped automatic retries on the old method; they resume with this one."""
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "creator")
        .get(pk=subscription.pk, creator_id=subscription.creator_id)
    )
    events = transitions.payment_method_changed(locked, payment_method=payment_method, data=data)
    locked.save(
        update_fields=["payment_method", "retries_stopped_code", "card_expires_on", "updated_at"]
    )
    transition_record(subscription=locked, events=events)
    return locked


# --- creating subscriptions ----------------------------------------------------------


@dataclass(frozen=True)
class SubscriberData:
    email: str
    name: str = ""
    locale: str = ""
    gateway_customer_id: str = ""


def subscriber_get_or_create(*, creator: Creator, data: SubscriberData) -> Subscriber:
    email = data.email.strip()
    subscriber = Subscriber.objects.filter(creator=creator, email__iexact=email).first()
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(
                    creator=creator,
                    email=email,
                    name=data.name.strip(),
                    locale=data.locale or creator.locale,
                    gateway_customer_id=data.gateway_customer_id,
                )
        except IntegrityError:
            subscriber = Subscriber.objects.get(creator=creator, email__iexact=email)
    elif data.gateway_customer_id and subscriber.gateway_customer_id != data.gateway_customer_id:
        subscriber.gateway_customer_id = data.gateway_customer_id
        subscriber.save(update_fields=["gateway_customer_id"])
    return subscriber


def subscription_create(
    *,
    creator: Creator,
    plan: Plan,
    subscriber: SubscriberData,
    payment_method: str,
    started_at: datetime | None = None,
    coupon: Coupon | None = None,
) -> Subscription:
    """A new sale, or an import when `started_at` lies in the past (SPEC §4.3).

    Sale: anchor = local date of the sale; the first period is charged at once; paid →
    ACTIVE with paid_through = next_charge_date = anchor + 1 period; declined → INACTIVE;
    a transient gateway error leaves it STARTED for the retry job.
    Import: nothing is charged retroactively; the next due date is the first
    anchor + n periods on or after today.
    Free trial (a plan with `trial_days`, once per subscriber and product): nothing is
    charged now, see subscriptions/trials.py; a second trial is not given and the sale
    is charged at once.
    A `coupon` discounts from the first period charged (subscriptions/coupons.py).
    """
    if plan.creator_id != creator.pk:
        raise DomainError("Unknown plan.", code="unknown_plan")
    if not plan.is_active:
        raise DomainError("This plan is not on sale any more.", code="plan_inactive")
    now = timezone.now()
    is_import = started_at is not None and started_at < now - IMPORT_TOLERANCE
    if started_at is not None and started_at > now + IMPORT_TOLERANCE:
        raise DomainError("started_at cannot be in the future.", code="invalid_started_at")
    trial_possible = not is_import and plan.trial_days > 0
    if payment_method or not (trial_possible and not plan.trial_requires_card):
        try:
            get_gateway(creator).validate_payment_method(
                payment_method=payment_method, customer=subscriber.gateway_customer_id
            )
        except GatewayError as exc:
            raise DomainError(str(exc), code="invalid_payment_method") from exc

    with transaction.atomic():
        sub_row = subscriber_get_or_create(creator=creator, data=subscriber)
        if trial_possible and trial_granted(plan=plan, subscriber=sub_row):
            trial = trial_start(
                creator=creator, plan=plan, subscriber=sub_row, payment_method=payment_method
            )
            if coupon is not None:
                assert trial.trial_ends_on is not None
                coupon_apply(trial, coupon, plan=plan, from_period=trial.trial_ends_on)
                trial.save()
            return trial
        if not payment_method:
            message = (
                "A payment method is needed: this subscriber already had this product's trial."
            )
            raise DomainError(
                message, code="invalid_payment_method", details={"payment_method": [message]}
            )
        start = started_at if is_import and started_at else now
        anchor = billing.local_date(start, creator.tz)
        subscription = Subscription(
            creator=creator,
            subscriber=sub_row,
            plan=plan,
            payment_method=payment_method,
            started_at=start,
            billing_anchor=anchor,
            status=Status.STARTED,
        )
        if is_import:
            today = billing.local_date(now, creator.tz)
            n, due = billing.first_due_on_or_after(anchor, plan.period, today)
            subscription.recurrence = n
            subscription.paid_through = due
            if plan.max_cycles is not None and n >= plan.max_cycles:
                subscription.status = Status.OVERDUE
                subscription.recurrence = plan.max_cycles
                subscription.paid_through = billing.due_date(anchor, plan.period, plan.max_cycles)
            else:
                subscription.status = Status.ACTIVE
                subscription.next_charge_date = due
        else:
            subscription.next_charge_date = anchor
        if coupon is not None and subscription.next_charge_date is not None:
            coupon_apply(subscription, coupon, plan=plan, from_period=subscription.next_charge_date)
        subscription.save()
        event_record(
            subscription=subscription,
            type=EventType.SUBSCRIPTION_CREATED,
            data={"status": subscription.status, "import": is_import},
        )
        if is_import:
            return subscription
        charge = charge_open(subscription=subscription, kind=Charge.Kind.FIRST, period_start=anchor)

    result = charge_call_gateway(charge=charge)
    first_charge_settle(subscription_id=subscription.pk, charge_id=charge.pk, result=result)
    subscription.refresh_from_db()
    return subscription


def first_charge_settle(*, subscription_id: int, charge_id: int, result: ChargeResult) -> None:
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "creator", "subscriber")
            .unscoped("by id: the subscription this call (or a worker) just charged")
            .get(pk=subscription_id)
        )
        charge = Charge.objects.select_related("subscription").get(
            pk=charge_id, subscription=subscription
        )
        charge.subscription = subscription
        if not charge_settle(charge=charge, result=result):
            return
        events = first_charge_outcome_apply(subscription=subscription, charge=charge, result=result)
        subscription.save()
        transition_record(subscription=subscription, events=events)


def first_charge_outcome_apply(
    *, subscription: Subscription, charge: Charge, result: ChargeResult
) -> list[transitions.Event]:
    """Paid → ACTIVE one period on; declined → INACTIVE; a transient error changes
    nothing (the first-charge job retries it with the same key). In memory: the caller
    saves and records the events it returns."""
    if result.outcome is ChargeOutcome.SUCCEEDED:
        return transitions.paid(subscription, period_start=charge.period_start)
    if result.outcome is ChargeOutcome.DECLINED:
        return transitions.inactivated(subscription, reason="first_charge_declined")
    return []


# --- cancellation --------------------------------------------------------------------


def subscription_cancel(
    *,
    subscription: Subscription,
    actor: Actor,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> Subscription:
    """Cancel as the one who acted (SPEC §5): a member or API key cancels as the seller,
    the subscriber as the customer, support or the system as admin.

    Status CANCELLED_BY_<source>; cancelled_at now; no further charges
    (next_charge_date null); paid_through unchanged, so access lasts until then.
    Cancelling a cancelled, ended or inactive subscription is refused (409).
    """
    with transaction.atomic():
        locked = subscription_locked(subscription)
        events = transitions.cancelled(
            locked, actor=actor, reason=reason, at=timezone.now(), data=data
        )
        locked.save()
        transition_record(subscription=locked, events=events)
    return locked


def subscription_locked(subscription: Subscription) -> Subscription:
    """The subscription's row locked for this transaction, with its plan, product,
    creator and subscriber."""
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan__product", "creator", "subscriber")
        .get(pk=subscription.pk, creator_id=subscription.creator_id)
    )


# --- reactivation --------------------------------------------------------------------


def subscription_reactivate(
    *,
    subscription: Subscription,
    outcome: ReactivationOutcome,
    charged: bool,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> Subscription:
    """Apply an accepted reactivation (SPEC §6.1) to a cancelled subscription.

    `outcome` is `reactivation_outcome` on the day the subscriber accepted: same cycle
    keeps the anchor and next charge = paid_through (*billing day 10, cancelled April
    15, accepted April 20 → next charge May 10*); outside the cycle the anchor becomes
    R and next charge = paid_through = R + 1 period (*accepted May 20 → June 20*).
    `charged` when a `reactivate_and_charge` charge paid that period. Records
    `subscription.status_changed` and `subscription.reactivated` with `data` (mode,
    same_cycle, request). Runs in the caller's transaction when there is one (the
    reactivation app holds the row and its request locked).
    """
    with transaction.atomic():
        locked = subscription_locked(subscription)
        events = transitions.reactivated(locked, outcome=outcome, charged=charged, data=data)
        locked.save()
        transition_record(subscription=locked, events=events, occurred_at=occurred_at)
    return locked
