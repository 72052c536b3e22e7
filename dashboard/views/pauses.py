"""The subscription detail's "Pause", "Resume" and "Change billing day" panels
(subscriptions/pauses.py, subscriptions/billing_day.py)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.actors import Actor
from core.errors import Conflict, DomainError
from dashboard.access import member_required, subscription_get_for_member
from dashboard.forms import PauseForm, ResumeForm
from dashboard.templatetags.dashboard import long_date, money
from subscriptions.billing_day import BillingDayChange, subscription_billing_day_change
from subscriptions.models import Charge
from subscriptions.pauses import subscription_pause, subscription_resume


@require_POST
@member_required
def subscription_pause_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid, write=True)
    back = redirect("dashboard:subscription_detail", uuid=subscription.uuid)
    form = PauseForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return back
    try:
        pause = subscription_pause(
            subscription=subscription,
            actor=Actor.member(request.user),
            when=form.cleaned_data["when"],
            **form.pause_length(),
        )
    except Conflict as exc:
        messages.error(request, _pause_refusal(exc.code))
        return back
    except DomainError as exc:
        messages.error(request, exc.message)
        return back
    resumes = (
        _("It resumes on %(date)s with a charge for the new period.")
        % {"date": long_date(pause.resumes_on)}
        if pause.resumes_on
        else _("It stays paused until you resume it.")
    )
    if pause.when == "period_end":
        text = _("Paused from %(date)s, when the paid period ends.") % {
            "date": long_date(pause.starts_on)
        }
    else:
        text = _("Paused. Nothing is charged while it is paused.")
    messages.success(request, f"{text} {resumes}")
    return back


def _pause_refusal(code: str) -> str:
    return {
        "already_paused": _("This subscription is already paused."),
    }.get(code, _("Only an active subscription can be paused."))


@require_POST
@member_required
def subscription_resume_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid, write=True)
    back = redirect("dashboard:subscription_detail", uuid=subscription.uuid)
    form = ResumeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to resume."))
        return back
    try:
        resumed = subscription_resume(
            subscription=subscription,
            actor=Actor.member(request.user),
            how=form.cleaned_data["how"],
        )
    except DomainError:
        messages.error(request, _("This subscription is not paused."))
        return back
    messages.success(request, resume_message(resumed.outcome, resumed.charge))
    return back


def resume_message(outcome: object, charge: Charge | None) -> str:
    """What a resume did, for the dashboard and the subscriber's page alike."""
    if outcome is None:
        return _("The pause is called off; renewals go on as before.")
    if charge is None:
        return _("Active again. Nothing was charged; the next charge is on %(date)s.") % {
            "date": long_date(getattr(outcome, "next_charge_date", None))
        }
    amount = money(charge.amount, charge.currency)
    if charge.status == Charge.Status.SUCCEEDED:
        return _("Active again. %(amount)s was charged for the period to %(date)s.") % {
            "amount": amount,
            "date": long_date(charge.period_end),
        }
    if charge.status == Charge.Status.DECLINED:
        return _(
            "Active again, but the payment of %(amount)s was declined: the payment is "
            "late and will be tried again."
        ) % {"amount": amount}
    return _(
        "Active again. The payment of %(amount)s is being processed and will be tried "
        "again if it does not go through."
    ) % {"amount": amount}


@require_POST
@member_required
def subscription_billing_day_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid, write=True)
    back = redirect("dashboard:subscription_detail", uuid=subscription.uuid)
    try:
        day = int(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, _("Choose a day from 1 to 28."))
        return back
    try:
        change = subscription_billing_day_change(
            subscription=subscription, actor=Actor.member(request.user), day=day
        )
    except DomainError as exc:
        messages.error(request, billing_day_refusal(exc))
        return back
    messages.success(request, billing_day_message(change, subscription.plan.currency))
    return back


def billing_day_refusal(exc: DomainError) -> str:
    return {
        "invalid": _("Choose a day from 1 to 28."),
        "same_day": _("The subscription already renews on that day."),
        "once_per_period": _("The billing day can be changed once a period."),
        "weekly": _("A weekly plan renews on its weekday; its billing day cannot be chosen."),
        "pause_waiting": _("A pause is waiting for the next due date; call it off first."),
        "not_offered": _("Changing the billing day is not offered for this subscription."),
    }.get(exc.code, _("Only an active subscription can change its billing day."))


def billing_day_message(change: BillingDayChange, currency: str) -> str:
    """What a billing-day change did, for the dashboard and the subscriber's page."""
    text = _("The next charge is on %(date)s.") % {"date": long_date(change.next_charge_date)}
    if change.adjustment > 0:
        return (
            text
            + " "
            + _("%(amount)s is added to it for the %(days)s days in between.")
            % {
                "amount": money(change.adjustment, currency),
                "days": change.days,
            }
        )
    return (
        text
        + " "
        + _("%(amount)s is taken off it for the %(days)s days already paid.")
        % {
            "amount": money(-change.adjustment, currency),
            "days": -change.days,
        }
    )
