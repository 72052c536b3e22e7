"""The subscriber takes back their own cancellation from the manage page: undo while
the paid period lasts, restart after it (SPEC §6.1's rules, asked and accepted at once).

Who: only a subscription the subscriber cancelled themselves (CANCELLED_BY_CUSTOMER).
A cancellation by the creator or by support was their decision; the creator can still
send a reactivation request. The plan and its product must still be on sale.

What, on the creator's local date R:
- **Undo** (R < paid_through): the same-cycle reactivation, nothing charged. ACTIVE, the
  anchor kept, the next charge on paid_through. *Monthly on the 10th, paid through May
  10, cancelled April 15, undone April 20 → ACTIVE, next charge May 10, nothing charged.*
- **Restart** (R ≥ paid_through, or nothing was ever paid): `reactivate_and_charge`.
  The period starting R is charged now on the saved payment method; paid → ACTIVE,
  anchor R, next charge R + 1 period. *Paid through May 10, restarted May 20 → charged
  May 20 for May 20 to June 20, next charge June 20.* Declined → still cancelled, and the
  answer links to the payment page to pay with another card (`reactivation.payment`).

Both are a reactivation request made by the subscriber (no email: they are on the page)
and accepted in the same call, so the history, webhooks and segmentation triggers are the
ones of an emailed request that was accepted: `reactivation.requested`,
`reactivation.accepted`, `subscription.status_changed`, `subscription.reactivated`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.actors import Actor
from core.errors import Conflict
from reactivation.acceptance import Decision, reactivation_request_accept
from reactivation.models import Mode
from reactivation.services import reactivation_request_create
from subscriptions.billing import local_date
from subscriptions.models import Status, Subscriber, Subscription

UNDO = "undo"
RESTART = "restart"

NOT_YOURS = _(
    "Only a subscription you cancelled yourself can be restarted here. "
    "Contact %(creator)s to reactivate it."
)


@dataclass(frozen=True)
class RestartOffer:
    """What the manage page offers for one subscription: `kind` is undo or restart."""

    kind: str

    @property
    def mode(self) -> str:
        return Mode.REACTIVATE if self.kind == UNDO else Mode.REACTIVATE_AND_CHARGE


def restart_offer(subscription: Subscription) -> RestartOffer | None:
    """Undo, restart or nothing for this subscription now (see the module). Needs
    `plan__product` and `creator` loaded to stay query-free."""
    plan = subscription.plan
    if subscription.status != Status.CANCELLED_BY_CUSTOMER:
        return None
    if not (plan.is_active and plan.product.is_active):
        return None
    today = local_date(timezone.now(), subscription.creator.tz)
    paid_through = subscription.paid_through
    return RestartOffer(UNDO if paid_through is not None and today < paid_through else RESTART)


def subscription_restart_by_subscriber(
    *, subscription: Subscription, subscriber: Subscriber
) -> Decision:
    """Undo or restart the subscriber's own cancellation now (see the module). Refused
    with `Conflict` when nothing is offered (someone else cancelled it, the plan is off
    sale, it is active again, or another acceptance is charging right now)."""
    if subscription.subscriber_id != subscriber.pk:
        raise Conflict(str(NOT_YOURS % {"creator": subscription.creator.name}), code="not_yours")
    offer = restart_offer(subscription)
    if offer is None:
        raise Conflict(
            str(NOT_YOURS % {"creator": subscription.creator.name}), code="not_self_cancelled"
        )
    request = reactivation_request_create(
        subscription=subscription,
        mode=offer.mode,
        actor=Actor.subscriber(subscriber),
        send_email=False,
    )
    return reactivation_request_accept(reactivation_request=request)
