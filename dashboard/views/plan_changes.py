"""The subscription detail's "Change plan" panel (subscriptions/plan_changes.py): the
other plans of the product in its currency, each with what switching would do today,
and the POST that switches."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.actors import Actor
from core.errors import DomainError, GatewayUnavailable, PaymentDeclined
from dashboard.access import member_required, subscription_get_for_member
from dashboard.templatetags.dashboard import long_date, money
from subscriptions import billing
from subscriptions.models import Plan, Status, Subscription
from subscriptions.plan_changes import PlanChange, plan_change_preview, subscription_plan_change
from subscriptions.proration import ChangeKind


@dataclass(frozen=True)
class PlanOption:
    plan: Plan
    label: str


def plan_options(subscription: Subscription) -> list[PlanOption]:
    """What the panel offers (empty unless the subscription can switch now)."""
    if subscription.status != Status.ACTIVE or subscription.next_charge_date is None:
        return []
    plans = Plan.objects.filter(
        creator_id=subscription.creator_id,
        product_id=subscription.plan.product_id,
        currency=subscription.plan.currency,
        is_active=True,
    ).exclude(pk=subscription.plan_id)
    today = billing.local_date(timezone.now(), subscription.creator.tz)
    options = []
    for plan in plans.order_by("price", "name"):
        change = plan_change_preview(subscription=subscription, plan=plan, today=today)
        price = f"{plan.name} · {money(plan.price, plan.currency)} ({plan.get_period_display()})"
        if change.kind is ChangeKind.UPGRADE_NOW and change.proration is not None:
            what = _("now, %(amount)s charged for the rest of this period") % {
                "amount": money(change.proration.amount_due, plan.currency)
            }
        else:
            what = _("from the next renewal, %(date)s") % {"date": long_date(change.effective_on)}
        options.append(PlanOption(plan, f"{price} — {what}"))
    return options


@require_POST
@member_required
def subscription_plan_change_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid, write=True)
    back = redirect("dashboard:subscription_detail", uuid=subscription.uuid)
    try:
        plan_uuid = UUID(request.POST.get("plan", ""))
    except ValueError:
        plan_uuid = None
    plan = (
        Plan.objects.filter(creator_id=subscription.creator_id, uuid=plan_uuid).first()
        if plan_uuid
        else None
    )
    if plan is None:
        messages.error(request, _("Choose one of the plans offered."))
        return back
    try:
        change = subscription_plan_change(
            subscription=subscription, plan=plan, actor=Actor.member(request.user)
        )
    except GatewayUnavailable as exc:
        if exc.code == "payment_processing":
            messages.info(request, plan_change_refusal(exc))
        else:
            messages.error(request, plan_change_refusal(exc))
        return back
    except DomainError as exc:
        messages.error(request, plan_change_refusal(exc))
        return back
    messages.success(request, plan_change_message(change, plan))
    return back


def plan_change_message(change: PlanChange, plan: Plan) -> str:
    """What a switch did, for the dashboard and the subscriber's page."""
    if change.cancelled:
        return _("The scheduled plan switch is called off.")
    if change.kind is ChangeKind.UPGRADE_NOW:
        amount = change.charge.amount if change.charge is not None else 0
        return _("Switched to %(plan)s; %(amount)s charged for the rest of this period.") % {
            "plan": plan.name,
            "amount": money(amount, plan.currency),
        }
    return _("%(plan)s from the next renewal, %(date)s.") % {
        "plan": plan.name,
        "date": long_date(change.effective_on),
    }


def plan_change_refusal(exc: DomainError) -> str:
    """Why a switch did not happen, in the reader's language."""
    if isinstance(exc, PaymentDeclined):
        return _(
            "The payment for the switch was declined, so the plan did not change (%(reason)s)."
        ) % {"reason": exc.message}
    if isinstance(exc, GatewayUnavailable):
        if exc.code == "payment_processing":
            return _(
                "The payment is still being processed, so the plan has not changed yet. "
                "Choose the same plan again later to finish the switch; it is not "
                "charged twice."
            )
        return _(
            "The payment processor did not answer, so the plan did not change. "
            "Try again in a few minutes."
        )
    return _refusal(exc.code)


def _refusal(code: str) -> str:
    return {
        "not_active": _("Only an active subscription can switch plans."),
        "same_plan": _("The subscription is already on this plan."),
        "not_offered": _("Switching plans is not offered for this subscription."),
        "switch_in_progress": _(
            "A payment for a plan switch of this subscription is still being processed; "
            "try again in a moment."
        ),
    }.get(code, _("This plan cannot be chosen for this subscription."))
