"""The subscriber manage page (SPEC §7.2): public, per creator, on a phone.

Never reveals whether an email is known: the answer to the email form is the same page,
byte for byte, and the same work (a queued task) either way.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Creator
from core.actors import Actor
from core.errors import Conflict, DomainError
from core.private_pages import private_page
from core.ratelimit import client_ip
from dashboard.subscriber.forms import CustomerCancelForm, SignInRequestForm
from dashboard.subscriber.services import sign_in_token_find, sign_in_token_use
from dashboard.subscriber.tasks import send_sign_in_link
from dashboard.subscriber.throttle import sign_in_request_retry_after
from dashboard.templatetags.dashboard import coupon_terms, long_date, money
from dashboard.views.pauses import billing_day_message, billing_day_refusal, resume_message
from dashboard.views.plan_changes import plan_change_message, plan_change_refusal, plan_options
from notifications.email import language_for
from reactivation.payment import payment_link_for_declined
from reactivation.restart import restart_offer, subscription_restart_by_subscriber
from subscriptions.billing import local_date
from subscriptions.billing_day import changed_this_period, subscription_billing_day_change
from subscriptions.models import Charge, Plan, Status, Subscriber, Subscription
from subscriptions.pause_rules import PauseWhen
from subscriptions.pauses import subscription_pause, subscription_resume
from subscriptions.plan_changes import subscription_plan_change
from subscriptions.policies import product_policy, recovery_policies_of
from subscriptions.retention import (
    cancel_reasons,
    retained_before,
    retention_offer_for,
    subscription_retain,
)
from subscriptions.services import subscription_cancel

SESSION_KEY = "manage_subscriber"
SESSION_SECONDS = 30 * 60

View = Callable[..., HttpResponse]


def _creator(slug: str) -> Creator:
    return get_object_or_404(Creator, slug=slug)


def _signed_in_subscriber(request: HttpRequest, creator: Creator) -> Subscriber | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("creator") != creator.pk:
        return None
    subscriber_id = data.get("subscriber")
    if not isinstance(subscriber_id, int) or data.get("until", 0) < time.time():
        return None
    return Subscriber.objects.filter(creator=creator, pk=subscriber_id).first()


def _own_subscription(creator: Creator, subscriber: Subscriber, uuid: UUID) -> Subscription:
    """One of the signed-in subscriber's subscriptions with this creator (404 otherwise),
    with what the services and messages read loaded."""
    subscription = (
        Subscription.objects.filter(creator=creator, subscriber=subscriber, uuid=uuid)
        .select_related("plan__product", "creator", "subscriber")
        .first()
    )
    if subscription is None:
        raise Http404
    return subscription


def _subscriber_action(view: Callable[..., HttpResponse]) -> View:
    """A POST on one of the signed-in subscriber's subscriptions: the view gets the
    creator, the subscriber and the subscription (the sign-in page when signed out, 404
    for a subscription that is not theirs)."""

    @functools.wraps(view)
    def resolved(request: HttpRequest, slug: str, uuid: UUID) -> HttpResponse:
        creator = _creator(slug)
        subscriber = _signed_in_subscriber(request, creator)
        if subscriber is None:
            return redirect("subscriber:sign_in_request", slug=creator.slug)
        return view(request, creator, subscriber, _own_subscription(creator, subscriber, uuid))

    return resolved


def _cancel_form(
    subscription: Subscription, data: Any = None, *, reasons: list[str] | None = None
) -> CustomerCancelForm:
    return CustomerCancelForm(data, reasons=reasons, auto_id=f"id_{subscription.uuid.hex[:12]}_%s")


@private_page
@require_http_methods(["GET", "POST"])
def sign_in_request(request: HttpRequest, slug: str) -> HttpResponse:
    creator = _creator(slug)
    form = SignInRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        retry_after = sign_in_request_retry_after(
            creator_slug=creator.slug, ip=client_ip(request), email=email
        )
        if retry_after:
            response = render(
                request, "subscriber/throttled.html", {"creator": creator}, status=429
            )
            response["Retry-After"] = str(retry_after)
            return response
        creator_id = creator.pk
        transaction.on_commit(lambda: send_sign_in_link.delay(creator_id, email))
        return render(request, "subscriber/check_email.html", {"creator": creator})
    return render(request, "subscriber/sign_in_request.html", {"creator": creator, "form": form})


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    creator = _creator(slug)
    if request.method in ("GET", "HEAD"):
        # Reading only: a mail scanner that opens the link must not spend it.
        valid = sign_in_token_find(creator=creator, raw_token=token) is not None
        return render(
            request,
            "subscriber/sign_in_continue.html" if valid else "subscriber/link_invalid.html",
            {"creator": creator},
            status=200 if valid else 410,
        )
    subscriber = sign_in_token_use(creator=creator, raw_token=token)
    if subscriber is None:
        return render(request, "subscriber/link_invalid.html", {"creator": creator}, status=410)
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "creator": creator.pk,
        "subscriber": subscriber.pk,
        "until": time.time() + SESSION_SECONDS,
    }
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
def manage(request: HttpRequest, slug: str) -> HttpResponse:
    creator = _creator(slug)
    subscriber = _signed_in_subscriber(request, creator)
    if subscriber is None:
        return redirect("subscriber:sign_in_request", slug=creator.slug)
    subscriptions = list(
        Subscription.objects.filter(creator=creator, subscriber=subscriber)
        .select_related("plan", "plan__product", "scheduled_plan")
        .order_by("-created_at", "-id")
    )
    policies = recovery_policies_of(subscriptions)
    today = local_date(timezone.now(), creator.tz)
    for subscription in subscriptions:
        subscription.creator = creator  # the page's creator: no query per subscription
        policy = policies.get(subscription.plan.product_id)
        subscription.pause_periods = (  # type: ignore[attr-defined]
            range(1, policy.max_pause_periods + 1)
            if policy is not None
            and policy.subscribers_can_pause
            and subscription.status == Status.ACTIVE
            and subscription.pause_starts_on is None
            else None
        )
        subscription.plan_options = (  # type: ignore[attr-defined]
            plan_options(subscription)
            if policy is not None
            and policy.subscribers_can_switch_plans
            and subscription.pause_starts_on is None
            else []
        )
        subscription.can_change_billing_day = (  # type: ignore[attr-defined]
            policy is not None
            and policy.subscribers_can_change_billing_day
            and subscription.status == Status.ACTIVE
            and subscription.pause_starts_on is None
            and subscription.plan.period != "weekly"
            and not changed_this_period(subscription, today)
        )
        # One form per subscription, with its own element ids and its product's reasons.
        subscription.cancel_form = _cancel_form(  # type: ignore[attr-defined]
            subscription, reasons=cancel_reasons(policy)
        )
        subscription.restart = restart_offer(subscription)  # type: ignore[attr-defined]
    with timezone.override(creator.tz):
        return render(
            request,
            "subscriber/manage.html",
            {
                "creator": creator,
                "subscriber": subscriber,
                "subscriptions": subscriptions,
                "today": today,
            },
        )


@private_page
@require_POST
@_subscriber_action
def cancel(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    policy = product_policy(subscription)
    form = _cancel_form(subscription, request.POST, reasons=cancel_reasons(policy))
    if not form.is_valid():
        subscription.cancel_form = form  # type: ignore[attr-defined]
        return render(
            request,
            "subscriber/cancel_invalid.html",
            {"creator": creator, "subscription": subscription},
            status=400,
        )
    # The reason is stored in the creator's language: the creator is who reads it.
    with translation.override(language_for(creator.locale)):
        reason = form.reason_text()
    offer = retention_offer_for(subscription, policy, retained_before=retained_before(subscription))
    if offer is not None and request.POST.get("declined_offer") != offer.kind:
        # One offer before the cancellation goes through (subscriptions/retention.py).
        subscription.cancel_form = form  # type: ignore[attr-defined]
        with timezone.override(creator.tz):
            return render(
                request,
                "subscriber/retention_offer.html",
                {"creator": creator, "subscription": subscription, "offer": offer},
            )
    try:
        cancelled = subscription_cancel(
            subscription=subscription,
            actor=Actor.subscriber(subscriber),
            reason=reason,
            data={"retention_offer": offer.kind} if offer is not None else None,
        )
        if cancelled.paid_through is not None:
            messages.success(
                request,
                _("Your subscription is cancelled. You keep access until %(date)s.")
                % {"date": date_format(cancelled.paid_through, "DATE_FORMAT")},
            )
        else:
            messages.success(request, _("Your subscription is cancelled."))
    except Conflict:
        messages.error(request, _("This subscription cannot be cancelled any more."))
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
@require_POST
@_subscriber_action
def retain(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    """Take the product's offer instead of cancelling (subscriptions/retention.py)."""
    policy = product_policy(subscription)
    form = _cancel_form(subscription, request.POST, reasons=cancel_reasons(policy))
    with translation.override(language_for(creator.locale)):
        reason = form.reason_text() if form.is_valid() else ""
    try:
        offer = subscription_retain(
            subscription=subscription,
            actor=Actor.subscriber(subscriber),
            kind=request.POST.get("offer", ""),
            reason=reason,
        )
    except DomainError:
        messages.error(request, _("This offer is no longer available."))
        return redirect("subscriber:manage", slug=creator.slug)
    subscription.refresh_from_db()
    if offer.coupon is not None:
        text = _("You are staying with us, thank you. From %(date)s you get %(terms)s.") % {
            "date": long_date(subscription.next_charge_date),
            "terms": coupon_terms(offer.coupon),
        }
    elif offer.plan is not None:
        text = _(
            "You are staying with us, thank you. From %(date)s your plan is %(plan)s at "
            "%(price)s; nothing changes before then."
        ) % {
            "date": long_date(subscription.next_charge_date),
            "plan": offer.plan.name,
            "price": money(offer.plan.price, offer.plan.currency),
        }
    else:
        text = _(
            "You are staying with us, thank you. Your subscription is paused from %(start)s "
            "and resumes on %(end)s; nothing is charged in between."
        ) % {
            "start": long_date(subscription.pause_starts_on),
            "end": long_date(subscription.resumes_on),
        }
    messages.success(request, text)
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
@require_POST
@_subscriber_action
def restart(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    """Undo or restart the subscriber's own cancellation (reactivation.restart)."""
    try:
        decision = subscription_restart_by_subscriber(
            subscription=subscription, subscriber=subscriber
        )
    except Conflict as refused:
        messages.error(request, refused.message)
        return redirect("subscriber:manage", slug=creator.slug)
    product = subscription.plan.product.name
    if decision.outcome == "accepted":
        reactivated = decision.request.subscription
        text = (
            _("Your subscription to %(product)s is active again. Nothing was charged.")
            if decision.same_cycle
            else _("Your subscription to %(product)s is active again. Thank you for your payment.")
        ) % {"product": product}
        if reactivated.next_charge_date:
            text += " " + _("Your next charge will be on %(date)s.") % {
                "date": date_format(reactivated.next_charge_date, "DATE_FORMAT")
            }
        messages.success(request, text)
        return redirect("subscriber:manage", slug=creator.slug)
    if decision.outcome == "failed":
        with timezone.override(creator.tz):
            return render(
                request,
                "subscriber/restart_declined.html",
                {
                    "creator": creator,
                    "subscription": subscription,
                    "reason": decision.message,
                    "pay_url": payment_link_for_declined(request=decision.request) or "",
                },
            )
    if decision.outcome == "processing":
        messages.error(request, _("Your payment is being processed. Reload this page in a moment."))
    else:  # "retry": the processor did not answer; nothing was charged
        messages.error(
            request,
            _(
                "The payment processor did not answer, and nothing was charged. "
                "Please try again in a few minutes."
            ),
        )
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
@require_POST
@_subscriber_action
def pause(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    """Pause from the end of the paid period, for the periods chosen (subscriptions/
    pause_rules.py); only where the product lets subscribers pause."""
    try:
        periods = int(request.POST.get("periods", ""))
    except ValueError:
        messages.error(request, _("Choose for how long to pause."))
        return redirect("subscriber:manage", slug=creator.slug)
    try:
        paused = subscription_pause(
            subscription=subscription,
            actor=Actor.subscriber(subscriber),
            when=PauseWhen.PERIOD_END,
            periods=periods,
        )
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect("subscriber:manage", slug=creator.slug)
    messages.success(
        request,
        _(
            "Your subscription is paused from %(start)s, when the paid period ends, and "
            "resumes on %(end)s. Nothing is charged in between."
        )
        % {"start": long_date(paused.starts_on), "end": long_date(paused.resumes_on)},
    )
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
@require_POST
@_subscriber_action
def resume(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    """Resume now (a new period charged if the paid one is over), or call off a pause
    that waits for the period end."""
    try:
        resumed = subscription_resume(subscription=subscription, actor=Actor.subscriber(subscriber))
    except DomainError:
        messages.error(request, _("This subscription is not paused."))
        return redirect("subscriber:manage", slug=creator.slug)
    charge = resumed.charge
    if charge is not None and charge.status == Charge.Status.DECLINED:
        messages.error(request, resume_message(resumed.outcome, charge))
    else:
        messages.success(request, resume_message(resumed.outcome, charge))
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
@require_POST
@_subscriber_action
def change_plan(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    """Switch to another plan of the product where it allows it
    (subscriptions/plan_changes.py): a dearer plan of the same period now, the rest
    from the next renewal."""
    back = redirect("subscriber:manage", slug=creator.slug)
    try:
        plan_uuid = UUID(request.POST.get("plan", ""))
    except ValueError:
        plan_uuid = None
    plan = (
        Plan.objects.filter(creator=creator, uuid=plan_uuid, is_active=True).first()
        if plan_uuid
        else None
    )
    if plan is None:
        messages.error(request, _("Choose one of the plans offered."))
        return back
    try:
        change = subscription_plan_change(
            subscription=subscription, plan=plan, actor=Actor.subscriber(subscriber)
        )
    except DomainError as refused:
        messages.error(request, plan_change_refusal(refused))
        return back
    messages.success(request, plan_change_message(change, plan))
    return back


@private_page
@require_POST
@_subscriber_action
def billing_day(
    request: HttpRequest, creator: Creator, subscriber: Subscriber, subscription: Subscription
) -> HttpResponse:
    """Move the billing day where the product allows it (subscriptions/billing_day.py)."""
    try:
        day = int(request.POST.get("day", ""))
    except ValueError:
        day = 0
    try:
        change = subscription_billing_day_change(
            subscription=subscription, actor=Actor.subscriber(subscriber), day=day
        )
    except DomainError as refused:
        messages.error(request, billing_day_refusal(refused))
        return redirect("subscriber:manage", slug=creator.slug)
    messages.success(request, billing_day_message(change, subscription.plan.currency))
    return redirect("subscriber:manage", slug=creator.slug)


@private_page
@require_POST
def sign_out(request: HttpRequest, slug: str) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return redirect("subscriber:sign_in_request", slug=slug)
