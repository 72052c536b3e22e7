"""What reactivating a subscription means (SPEC §6.1): the two modes, who may be asked,
and what accepting does to the billing dates. Pure rules: no ORM writes, no clock.

The reactivation app (requests, links, emails) and the `reactivated` transition both
read them; segmentation reads the modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from subscriptions.billing import due_date
from subscriptions.models import Plan, Status, Subscription


class ReactivationMode(models.TextChoices):
    REACTIVATE = "reactivate", _("Reactivate")
    REACTIVATE_AND_CHARGE = "reactivate_and_charge", _("Reactivate and charge")


# --- eligibility -------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a reactivation is refused: a stable code (API) and one text in the reader's
    language (API, dashboard, admin, the subscriber's page)."""

    code: str
    text: Promise

    @property
    def message(self) -> str:
        return str(self.text)


NOT_FOUND = Refusal("not_found", _("No subscription with this id."))
ACTIVE = Refusal("active", _("Not cancelled: there is nothing to reactivate."))
ENDED = Refusal("ended", _("Ended normally after its last cycle."))
INACTIVE = Refusal("inactive", _("Never became active (the first charge was not paid)."))
ADMIN_CANCELLED = Refusal("admin_cancelled", _("Cancelled by support: only support can ask."))
PLAN_INACTIVE = Refusal("plan_inactive", _("The plan is no longer on sale."))
IN_PROGRESS = Refusal(
    "in_progress", _("The subscriber is accepting the current request right now; try again later.")
)
NOT_DECIDED = Refusal("not_eligible", _("A subscription in this status cannot be reactivated."))

REFUSALS: tuple[Refusal, ...] = (
    NOT_FOUND,
    ACTIVE,
    ENDED,
    INACTIVE,
    ADMIN_CANCELLED,
    PLAN_INACTIVE,
    IN_PROGRESS,
    NOT_DECIDED,
)


@dataclass(frozen=True)
class Eligibility:
    """The decision for one status: eligible, eligible only when support asks, or refused."""

    refusal: Refusal | None = None
    support_only: bool = False


ELIGIBLE = Eligibility()
SUPPORT_ONLY = Eligibility(refusal=ADMIN_CANCELLED, support_only=True)

# An allow-list: every status has an explicit decision (a test fails when one is missing);
# a status without one is refused, never silently eligible.
ELIGIBILITY: dict[Status, Eligibility] = {
    Status.STARTED: Eligibility(refusal=ACTIVE),
    Status.ACTIVE: Eligibility(refusal=ACTIVE),
    Status.DELAYED: Eligibility(refusal=ACTIVE),
    Status.PAUSED: Eligibility(refusal=ACTIVE),
    Status.INACTIVE: Eligibility(refusal=INACTIVE),
    Status.OVERDUE: Eligibility(refusal=ENDED),
    Status.CANCELLED_BY_CUSTOMER: ELIGIBLE,
    Status.CANCELLED_BY_SELLER: ELIGIBLE,
    Status.CANCELLED_BY_ADMIN: SUPPORT_ONLY,
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
    grouped in SQL: the dashboard's confirmation before a bulk send)."""
    decision = ELIGIBILITY.get(Status(status), Eligibility(refusal=NOT_DECIDED))
    if decision.refusal is not None and not (decision.support_only and as_support):
        return decision.refusal
    if not on_sale:
        return PLAN_INACTIVE
    return None


# --- the billing outcome of an accepted request ------------------------------------


@dataclass(frozen=True)
class ReactivationOutcome:
    """What accepting a reactivation request on `accepted_on` does to the billing dates."""

    same_cycle: bool
    billing_anchor: date
    next_charge_date: date
    paid_through: date
    charge_today: bool
    # The period the charge of `reactivate_and_charge` pays for (None when nothing is charged).
    charge_period_start: date | None
    charge_period_end: date | None


def reactivation_outcome(
    *, mode: str, paid_through: date | None, anchor: date, period: str, accepted_on: date
) -> ReactivationOutcome:
    """The billing outcome of a reactivation accepted on the local date R = `accepted_on`.

    Same cycle (R < paid_through): both modes keep the anchor, charge nothing, and the
    next charge is paid_through. *Billing day 10; cancelled April 15; accepted April 20 →
    next charge still May 10.*
    Outside the cycle (R ≥ paid_through, or nothing was ever paid): the anchor becomes R
    and next_charge_date = paid_through = R + 1 period. `reactivate` charges nothing today
    (*accepted May 20 → next charge June 20*); `reactivate_and_charge` charges once, on R,
    for the period starting R (*charged May 20 → next charge June 20*).
    """
    if mode not in ReactivationMode.values:
        raise ValueError(f"unknown reactivation mode: {mode!r}")
    if paid_through is not None and accepted_on < paid_through:
        return ReactivationOutcome(
            same_cycle=True,
            billing_anchor=anchor,
            next_charge_date=paid_through,
            paid_through=paid_through,
            charge_today=False,
            charge_period_start=None,
            charge_period_end=None,
        )
    period_end = due_date(accepted_on, period, 1)
    charge = mode == ReactivationMode.REACTIVATE_AND_CHARGE
    return ReactivationOutcome(
        same_cycle=False,
        billing_anchor=accepted_on,
        next_charge_date=period_end,
        paid_through=period_end,
        charge_today=charge,
        charge_period_start=accepted_on if charge else None,
        charge_period_end=period_end if charge else None,
    )
