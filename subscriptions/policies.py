"""Per-product policies (payment recovery, SPEC §4.6; pause, SPEC §4.7): reads and the
one write."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Creator
from subscriptions.models import Coupon, Plan, Product, RecoveryPolicy, Subscription


def products_with_recovery_policy(*, creator: Creator) -> QuerySet[Product]:
    """The creator's products, each with its policy (or none) in the same query."""
    return Product.objects.filter(creator=creator).select_related("recovery_policy")


def recovery_policies_of(subscriptions: Iterable[Subscription]) -> dict[int, RecoveryPolicy]:
    """The saved policies of these subscriptions' products, by product id, in one query
    (across creators: for the periodic jobs that claimed the rows)."""
    return {
        p.product_id: p
        for p in RecoveryPolicy.objects.filter(
            product_id__in={s.plan.product_id for s in subscriptions}
        ).unscoped("the products of the subscriptions claimed by a job, across creators")
    }


def product_policy(subscription: Subscription) -> RecoveryPolicy | None:
    """The saved policy of the subscription's product (None: the defaults), with the
    plan and coupon its cancel flow offers; one query."""
    return (
        RecoveryPolicy.objects.select_related("retention_plan", "retention_coupon")
        .filter(creator_id=subscription.creator_id, product_id=subscription.plan.product_id)
        .first()
    )


def recovery_policy_for(*, product: Product) -> RecoveryPolicy:
    """The product's policy, or an unsaved one with the defaults."""
    policy = RecoveryPolicy.objects.filter(creator_id=product.creator_id, product=product).first()
    return policy or RecoveryPolicy(creator_id=product.creator_id, product=product)


@transaction.atomic
def recovery_policy_update(
    *,
    creator: Creator,
    product: Product,
    retry_schedule: list[int] | None,
    final_action: str,
    access_while_retrying: bool,
    send_payment_failed_email: bool,
    payment_failed_message: str,
    renewal_reminder_days: int | None = None,
    send_card_expiring_email: bool = True,
    pause_access: str = RecoveryPolicy.PauseAccess.PAID_THROUGH,
    subscribers_can_pause: bool = False,
    max_pause_periods: int = 3,
    subscribers_can_change_billing_day: bool = False,
    subscribers_can_switch_plans: bool = False,
    cancel_reasons: str = "",
    retention_offer: str = "",
    retention_pause_periods: int = 1,
    retention_plan: Plan | None = None,
    retention_coupon: Coupon | None = None,
) -> RecoveryPolicy:
    """Save the product's policy. An empty `retry_schedule` follows the creator's. The
    new schedule applies from the next retry that is scheduled; dates already set stay."""
    if product.creator_id != creator.pk:
        raise ValueError("product of another creator")
    policy, _ = RecoveryPolicy.objects.select_for_update().get_or_create(
        creator=creator, product=product
    )
    policy.retry_schedule = retry_schedule or None
    policy.final_action = final_action
    policy.access_while_retrying = access_while_retrying
    policy.send_payment_failed_email = send_payment_failed_email
    policy.payment_failed_message = payment_failed_message.strip()
    policy.renewal_reminder_days = renewal_reminder_days
    policy.send_card_expiring_email = send_card_expiring_email
    policy.pause_access = pause_access
    policy.subscribers_can_pause = subscribers_can_pause
    policy.max_pause_periods = max_pause_periods
    policy.subscribers_can_change_billing_day = subscribers_can_change_billing_day
    policy.subscribers_can_switch_plans = subscribers_can_switch_plans
    policy.cancel_reasons = cancel_reasons.strip()
    policy.retention_offer = retention_offer
    policy.retention_pause_periods = retention_pause_periods
    if retention_plan is not None and retention_plan.product_id != product.pk:
        raise ValueError("plan of another product")
    policy.retention_plan = retention_plan
    if retention_coupon is not None and retention_coupon.creator_id != creator.pk:
        raise ValueError("coupon of another creator")
    policy.retention_coupon = retention_coupon
    policy.full_clean(exclude=["creator", "product", "retention_plan", "retention_coupon"])
    policy.save()
    return policy
