"""Plan switch: a subscription moves to another plan of the same product and currency.

Rules (the arithmetic and its worked example are in subscriptions/proration.py):
- only an ACTIVE subscription switches (a late one pays what is due first; a cancelled
  one is reactivated first), and only to another plan of its product, in its currency;
- a dearer plan of the same period is an **upgrade now**: the difference for the rest of
  the current period (new price minus the unused part of the old one, in the creator's
  time zone) is charged at once as a `plan_change` charge; paid → the plan changes now,
  the anchor, `paid_through` and the next due date stay, and the next renewal charges
  the new price. Declined or unanswered → nothing changes (402 / 503). A payment still
  processing (a bank debit) answers 503 `payment_processing`: asking for the same switch
  again reads that payment back (no second payment) and switches once it succeeded;
  another switch waits until it is settled;
- a cheaper or equal plan, or another period (annual → monthly), is **scheduled** for
  the next renewal (`scheduled_plan`): nothing is charged now; the renewal run switches
  the plan and charges the new price on the due date. Asking for the current plan calls
  a scheduled switch off;
- `subscription.plan_changed` (from, to, `when`: `now` or `renewal`, the proration) is
  recorded when the plan actually changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorKind
from core.errors import Conflict, DomainError, GatewayUnavailable, PaymentDeclined
from subscriptions import billing, transitions
from subscriptions.coupons import COUPON_FIELDS, coupon_apply, coupon_check
from subscriptions.gateways.stripe import ZERO_DECIMAL_CURRENCIES
from subscriptions.models import Charge, Coupon, Plan, Status, Subscription
from subscriptions.policies import product_policy
from subscriptions.proration import ChangeKind, Proration, change_kind, proration
from subscriptions.services import (
    charge_build,
    charge_call_gateway,
    charge_settle,
    subscription_locked,
    transition_record,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanChange:
    """What a switch did: `kind`, the day the new plan applies from, the proration and
    the charge of an upgrade now (None otherwise); `cancelled` when it called a
    scheduled switch off."""

    kind: ChangeKind
    effective_on: date | None
    proration: Proration | None = None
    charge: Charge | None = None
    cancelled: bool = False


def _decimals(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def _check(subscription: Subscription, plan: Plan) -> None:
    if (
        plan.creator_id != subscription.creator_id
        or plan.product_id != subscription.plan.product_id
    ):
        message = "A subscription can only switch to another plan of the same product."
        raise DomainError(message, code="other_product", details={"plan": [message]})
    if plan.currency != subscription.plan.currency:
        message = (
            f"The plan charges {plan.currency}; this subscription pays in "
            f"{subscription.plan.currency}. Switch to a plan in the same currency."
        )
        raise DomainError(message, code="other_currency", details={"plan": [message]})
    if subscription.status != Status.ACTIVE or subscription.next_charge_date is None:
        raise Conflict(
            "Only an active subscription can switch plans; this one is "
            f"{subscription.get_status_display()}.",
            code="not_active",
        )


def _proration_data(result: Proration) -> dict[str, Any]:
    return {
        "period_start": result.period_start.isoformat(),
        "period_end": result.period_end.isoformat(),
        "days_left": result.days_left,
        "days_in_period": result.days_in_period,
        "credit": str(result.credit),
        "charge": str(result.charge),
        "amount_due": str(result.amount_due),
    }


def plan_change_preview(*, subscription: Subscription, plan: Plan, today: date) -> PlanChange:
    """What switching to `plan` on `today` would do, changing nothing."""
    _check(subscription, plan)
    current = subscription.plan
    kind = change_kind(
        old_price=current.price,
        old_period=current.period,
        new_price=plan.price,
        new_period=plan.period,
    )
    if kind is ChangeKind.AT_RENEWAL:
        return PlanChange(kind, subscription.next_charge_date)
    result = proration(
        anchor=subscription.billing_anchor,
        period=current.period,
        today=today,
        old_price=current.price,
        new_price=plan.price,
        decimals=_decimals(plan.currency),
    )
    return PlanChange(kind, today, result)


def subscription_plan_change(
    *,
    subscription: Subscription,
    plan: Plan,
    actor: Actor,
    coupon: Coupon | None = None,
    offered: bool = False,
) -> PlanChange:
    """Switch `subscription` to `plan` (see the module). Raises DomainError (another
    product or currency), Conflict (not active, already on it, a switch being charged),
    PaymentDeclined or GatewayUnavailable (nothing changed). A `coupon` for the new plan
    discounts from the next renewal, applied once the switch is made. A subscriber
    switches only where the product allows it, unless the switch is the product's
    retention offer (`offered`)."""
    if actor.kind is ActorKind.SUBSCRIBER and not offered:
        policy = product_policy(subscription)
        if policy is None or not policy.subscribers_can_switch_plans:
            raise Conflict(
                "Switching plans is not offered for this subscription.", code="not_offered"
            )
    if plan.pk == subscription.plan_id:
        return _call_off(subscription)
    with transaction.atomic():
        locked = subscription_locked(subscription)
        today = billing.local_date(timezone.now(), locked.creator.tz)
        change = plan_change_preview(subscription=locked, plan=plan, today=today)
        if coupon is not None:
            coupon_check(coupon, plan=plan, now=timezone.now())
        if change.kind is ChangeKind.AT_RENEWAL:
            transitions.plan_scheduled(locked, plan=plan)
            locked.save(update_fields=["scheduled_plan", "updated_at"])
            _coupon_from_renewal(locked, coupon, plan)
            logger.info("plan switch of %s to %s scheduled by %s", locked.uuid, plan.uuid, actor)
            return change
        assert change.proration is not None
        if change.proration.amount_due <= 0:
            _apply_now(locked, plan, change.proration, charge=None)
            _coupon_from_renewal(locked, coupon, plan)
            return change
        charge = _open_change_charge(locked, plan, change.proration)
        old_plan_id = locked.plan_id

    charge.subscription = locked
    result = charge_call_gateway(charge=charge)

    with transaction.atomic():
        locked = subscription_locked(subscription)
        charge = Charge.objects.select_for_update().get(pk=charge.pk, subscription=locked)
        charge.subscription = locked
        charge_settle(charge=charge, result=result)
        if charge.status == Charge.Status.SUCCEEDED:
            if locked.status == Status.ACTIVE and locked.plan_id == old_plan_id:
                _apply_now(locked, plan, change.proration, charge=charge)
                _coupon_from_renewal(locked, coupon, plan)
            else:  # changed while the charge was out: the money is recorded on the charge
                logger.warning("subscription %s changed while paying %s", locked.uuid, charge.uuid)
            return PlanChange(change.kind, change.effective_on, change.proration, charge)
    if charge.status == Charge.Status.DECLINED:
        raise PaymentDeclined(
            f"The payment for the switch was declined: {charge.failure_message} "
            "The subscription stays on its plan."
        )
    if charge.gateway_reference:
        raise GatewayUnavailable(
            "The payment is still being processed, so the subscription stays on its plan "
            "for now. Ask for the same switch again later to finish it; it will not be "
            "charged twice.",
            code="payment_processing",
        )
    raise GatewayUnavailable(
        "The payment processor did not answer, so the subscription stays on its plan. "
        "Try again in a few minutes."
    )


def _coupon_from_renewal(subscription: Subscription, coupon: Coupon | None, plan: Plan) -> None:
    """The switch's coupon, from the next renewal (subscriptions/coupons.py)."""
    if coupon is None or subscription.next_charge_date is None:
        return
    coupon_apply(subscription, coupon, plan=plan, from_period=subscription.next_charge_date)
    subscription.save(update_fields=[*COUPON_FIELDS, "updated_at"])


def _call_off(subscription: Subscription) -> PlanChange:
    with transaction.atomic():
        locked = subscription_locked(subscription)
        if locked.scheduled_plan_id is None:
            raise Conflict("The subscription is already on this plan.", code="same_plan")
        transitions.plan_scheduled(locked, plan=None)
        locked.save(update_fields=["scheduled_plan", "updated_at"])
    return PlanChange(ChangeKind.AT_RENEWAL, None, cancelled=True)


def _apply_now(
    subscription: Subscription, plan: Plan, result: Proration, *, charge: Charge | None
) -> None:
    events = transitions.plan_changed(
        subscription,
        plan=plan,
        data={
            "when": "now",
            "proration": _proration_data(result),
            "charge": str(charge.uuid) if charge is not None else None,
        },
    )
    subscription.save()
    transition_record(subscription=subscription, events=events)


def plan_change_intent(subscription: Subscription, period_start: date, plan: Plan) -> str:
    """What every try of one switch shares (its keys are this plus `_t<n>`), sent to the
    processor so a later try finds an earlier try's payment, never another switch's."""
    return f"sub_{subscription.uuid.hex}_{period_start.isoformat()}_plan_{plan.uuid.hex}"


def _open_change_charge(subscription: Subscription, plan: Plan, result: Proration) -> Charge:
    """A new pending `plan_change` charge for the rest of the period, keyed by the
    subscription, the period, the new plan and the try; refused while an earlier try is
    in flight or still processing at the processor."""
    earlier = list(
        Charge.objects.filter(
            subscription=subscription,
            kind=Charge.Kind.PLAN_CHANGE,
            period_start=result.period_start,
        )
    )
    intent = plan_change_intent(subscription, result.period_start, plan)
    processing = [c for c in earlier if c.status == Charge.Status.FAILED and c.gateway_reference]
    own = [c for c in processing if c.idempotency_key.startswith(intent + "_t")]
    if any(c.status == Charge.Status.PENDING for c in earlier) or len(own) < len(processing):
        raise Conflict(
            "A payment for a plan switch of this subscription is still being processed; "
            "try again in a moment.",
            code="switch_in_progress",
        )
    if own:
        # This switch's payment was still processing at the processor (a bank debit):
        # this try reads it back under its own key instead of paying again.
        charge = own[0]
        charge.status = Charge.Status.PENDING
        charge.save(update_fields=["status", "updated_at"])
        return charge
    # Earlier tries of this switch: the first try is attempt 0 (as a due-date charge is),
    # so only a later try looks the processor up for an earlier try's payment.
    attempt = sum(1 for c in earlier if c.idempotency_key.startswith(intent + "_t"))
    charge = charge_build(
        subscription=subscription,
        kind=Charge.Kind.PLAN_CHANGE,
        period_start=result.period_start,
        period_end=result.period_end,
        attempt=attempt,
        amount=Decimal(result.amount_due),
        idempotency_key=f"{intent}_t{attempt + 1}",
    )
    charge.save(force_insert=True)
    return charge
