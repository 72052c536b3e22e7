"""The cancel flow of the subscriber's manage page (SPEC §4.7): the reasons asked, and at
most one offer per product shown before the cancellation goes through.

Per product (Settings → the product → "Cancel flow"): the reasons offered (one per
line; empty: the standard list) and the offer, one of
- `pause`: a pause of N periods from the end of the paid period
  (subscriptions/pause_rules.py), even where subscribers cannot pause by themselves;
- `downgrade`: a cheaper plan of the same product and currency from the next renewal
  (subscriptions/plan_changes.py: scheduled, nothing charged now);
- `coupon`: one of the creator's coupons, from the next renewal
  (subscriptions/coupons.py), when it is valid for the subscription's plan.

Shown only to an ACTIVE subscription with no pause or plan switch waiting, never twice
to one subscription once it took an offer, and only when the offer can apply (the plan
still on sale and cheaper per month). Taking it applies the offer's change and records
`subscription.retained` (`offer`, the reason) in the same transaction; declining cancels
as before, and the cancellation's event carries `retention_offer` (the kind declined), so
the overview counts each offer's save rate: taken / (taken + declined).

*Example: a monthly plan at 50.00 with the offer "a cheaper plan instead" (Lite, 30.00).
The subscriber cancels on April 20 giving "It is too expensive" → sees "Stay for
R$30.00 a month from May 10" → takes it: still ACTIVE, Lite scheduled for May 10,
`subscription.retained` {offer: {kind: downgrade, plan, price}}; on May 10 30.00 is
charged.*
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, DomainError
from subscriptions import transitions
from subscriptions.coupons import COUPON_FIELDS, coupon_apply, coupon_check
from subscriptions.events import EventType
from subscriptions.models import (
    Coupon,
    Plan,
    RecoveryPolicy,
    Status,
    Subscription,
    SubscriptionEvent,
)
from subscriptions.pause_rules import PauseWhen
from subscriptions.pauses import subscription_pause
from subscriptions.plan_changes import subscription_plan_change
from subscriptions.policies import product_policy
from subscriptions.proration import ChangeKind, change_kind
from subscriptions.services import subscription_locked, transition_record

Offer = RecoveryPolicy.RetentionOffer


@dataclass(frozen=True)
class RetentionOffer:
    """The offer a subscription would be shown now: `kind` with its periods or plan."""

    kind: str
    periods: int = 0
    plan: Plan | None = None
    coupon: Coupon | None = None

    def as_data(self) -> dict[str, Any]:
        if self.coupon is not None:
            return {"kind": self.kind, "coupon": self.coupon.code}
        if self.plan is not None:
            return {"kind": self.kind, "plan": str(self.plan.uuid), "price": str(self.plan.price)}
        return {"kind": self.kind, "periods": self.periods}


def cancel_reasons(policy: RecoveryPolicy | None) -> list[str]:
    """The product's own reasons, one per line (empty: none, the standard list applies)."""
    if policy is None:
        return []
    lines = (line.strip() for line in policy.cancel_reasons.splitlines())
    return [line[:200] for line in lines if line][:12]


def retention_offer_for(
    subscription: Subscription, policy: RecoveryPolicy | None, *, retained_before: bool
) -> RetentionOffer | None:
    """The offer to show before cancelling, or None (see the module). Needs `plan` and the
    policy's `retention_plan` loaded to stay query-free."""
    if policy is None or not policy.retention_offer or retained_before:
        return None
    if (
        subscription.status != Status.ACTIVE
        or subscription.next_charge_date is None
        or subscription.pause_starts_on is not None
        or subscription.scheduled_plan_id is not None
    ):
        return None
    if policy.retention_offer == Offer.PAUSE:
        return RetentionOffer(Offer.PAUSE, periods=policy.retention_pause_periods)
    if policy.retention_offer == Offer.COUPON:
        coupon = policy.retention_coupon
        if coupon is None or coupon.creator_id != subscription.creator_id:
            return None
        try:
            coupon_check(coupon, plan=subscription.plan, now=timezone.now())
        except DomainError:
            return None
        return RetentionOffer(Offer.COUPON, coupon=coupon)
    plan = policy.retention_plan
    current = subscription.plan
    if (
        plan is None
        or not plan.is_active
        or plan.pk == current.pk
        or plan.product_id != current.product_id
        or plan.currency != current.currency
        or change_kind(
            old_price=current.price,
            old_period=current.period,
            new_price=plan.price,
            new_period=plan.period,
        )
        is not ChangeKind.AT_RENEWAL
        or plan.price >= current.price
    ):
        return None
    return RetentionOffer(Offer.DOWNGRADE, plan=plan)


def retained_before(subscription: Subscription) -> bool:
    return SubscriptionEvent.objects.filter(
        subscription=subscription, type=EventType.SUBSCRIPTION_RETAINED
    ).exists()


def offer_now(subscription: Subscription) -> RetentionOffer | None:
    """The offer this subscription would be shown now (two queries)."""
    return retention_offer_for(
        subscription,
        product_policy(subscription),
        retained_before=retained_before(subscription),
    )


def subscription_retain(
    *, subscription: Subscription, actor: Actor, kind: str, reason: str
) -> RetentionOffer:
    """Take the offer of kind `kind` instead of cancelling (see the module). Conflict when
    that offer is not (or no longer) the one shown."""
    with transaction.atomic():
        locked = subscription_locked(subscription)
        offer = offer_now(locked)
        if offer is None or offer.kind != kind:
            raise Conflict("This offer is no longer available.", code="offer_unavailable")
        if offer.coupon is not None:
            assert locked.next_charge_date is not None
            coupon_apply(
                locked, offer.coupon, plan=locked.plan, from_period=locked.next_charge_date
            )
            locked.save(update_fields=[*COUPON_FIELDS, "updated_at"])
        elif offer.kind == Offer.PAUSE:
            subscription_pause(
                subscription=locked,
                actor=actor,
                when=PauseWhen.PERIOD_END,
                periods=offer.periods,
                offered=True,
            )
        else:
            assert offer.plan is not None
            subscription_plan_change(
                subscription=locked, plan=offer.plan, actor=actor, offered=True
            )
        events = transitions.retained(locked, offer=offer.as_data(), reason=reason, actor=actor)
        transition_record(subscription=locked, events=events)
    return offer
