"""Who may be asked to reactivate (SPEC §6.1), with a reason code for every refusal."""

from __future__ import annotations

from dataclasses import dataclass

from subscriptions.models import Plan, Status, Subscription


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


NOT_FOUND = Refusal("not_found", "No subscription with this id.")
ACTIVE = Refusal("active", "This subscription is not cancelled; there is nothing to reactivate.")
ENDED = Refusal(
    "ended", "This subscription ended normally after its last cycle; it cannot be reactivated."
)
INACTIVE = Refusal(
    "inactive", "This subscription never became active (its first charge was not paid)."
)
ADMIN_CANCELLED = Refusal(
    "admin_cancelled",
    "This subscription was cancelled by support; only support can send a reactivation request.",
)
PLAN_INACTIVE = Refusal("plan_inactive", "The plan of this subscription is no longer on sale.")

_BY_STATUS = {
    Status.ACTIVE: ACTIVE,
    Status.DELAYED: ACTIVE,
    Status.STARTED: ACTIVE,
    Status.OVERDUE: ENDED,
    Status.INACTIVE: INACTIVE,
}


def reactivation_refusal(subscription: Subscription | None, *, as_support: bool) -> Refusal | None:
    """None when a reactivation request may be sent, else why not.

    Eligible: CANCELLED_BY_CUSTOMER and CANCELLED_BY_SELLER subscriptions of plans (and
    products) still on sale. CANCELLED_BY_ADMIN only when support staff ask (`as_support`).
    Needs `plan__product` loaded to stay query-free.
    """
    if subscription is None:
        return NOT_FOUND
    return refusal_for(status=subscription.status, plan=subscription.plan, as_support=as_support)


def refusal_for(*, status: str, plan: Plan, as_support: bool) -> Refusal | None:
    """The rule on a status and a plan (with `product` loaded); bulk checks use it directly."""
    return refusal_for_flags(
        status=status,
        on_sale=plan.is_active and plan.product.is_active,
        as_support=as_support,
    )


def refusal_for_flags(*, status: str, on_sale: bool, as_support: bool) -> Refusal | None:
    """The same rule on a status and whether its plan and product are on sale (for counts
    grouped in SQL, e.g. the dashboard's confirmation before a bulk send)."""
    refusal = _BY_STATUS.get(Status(status))
    if refusal is not None:
        return refusal
    if status == Status.CANCELLED_BY_ADMIN and not as_support:
        return ADMIN_CANCELLED
    if not on_sale:
        return PLAN_INACTIVE
    return None
