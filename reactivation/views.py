"""The subscriber's page `/reactivate/<token>/` (SPEC §6.2, §7.1).

GET shows the request and changes nothing (mail scanners prefetch links); POST
`decision=accept|reject` with the CSRF token decides. Used, expired, superseded and
failed links answer 410 with a plain sentence; unknown or tampered tokens 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.private_pages import subscriber_link_page
from notifications.email import language_for
from reactivation import acceptance, payment, selectors, services
from reactivation.email import request_context
from reactivation.models import ReactivationRequest

Status = ReactivationRequest.Status


def _message(
    request: HttpRequest,
    *,
    title: str,
    message: str,
    status: int,
    tone: str = "",
    detail: str = "",
    action_url: str = "",
    action_label: str = "",
) -> HttpResponse:
    context = {
        "title": title,
        "message": message,
        "tone": tone,
        "detail": detail,
        "action_url": action_url,
        "action_label": action_label,
    }
    return render(request, "reactivation/message.html", context, status=status)


def _gone(request: HttpRequest, req: ReactivationRequest) -> HttpResponse:
    creator = req.creator.name
    messages = {
        Status.ACCEPTED: _("You already accepted this request. Your subscription is active."),
        Status.REJECTED: _("You declined this request. Nothing was changed."),
        Status.EXPIRED: _(
            "This link has expired. Ask %(creator)s to send you a new one if you still want "
            "to reactivate."
        )
        % {"creator": creator},
        Status.SUPERSEDED: _(
            "This link is no longer valid: it was replaced by a newer request or withdrawn. "
            "Use the most recent email from %(creator)s."
        )
        % {"creator": creator},
        Status.FAILED: _(
            "This request could not be completed, so your subscription is still cancelled."
        ),
    }
    detail = _failure_detail(req) if req.status == Status.FAILED else ""
    return _message(
        request,
        title=_("This link can no longer be used"),
        message=messages.get(Status(req.status), ""),
        detail=detail,
        status=410,
    )


def _failure_detail(req: ReactivationRequest) -> str:
    if req.charge_id is not None:
        return _("The payment was not approved: %(reason)s") % {"reason": req.failure_message}
    return req.failure_message


def _decision_answer(request: HttpRequest, decision: acceptance.Decision) -> HttpResponse:
    req = decision.request
    if decision.outcome == "accepted":
        next_date = req.subscription.next_charge_date
        detail = (
            _("Your next charge will be on %(date)s.") % {"date": _date(next_date)}
            if next_date
            else ""
        )
        return _message(
            request,
            title=_("Subscription reactivated"),
            message=_("Thank you! Your subscription to %(product)s is active again.")
            % {"product": req.subscription.plan.product.name},
            detail=detail,
            tone="ok",
            status=200,
        )
    if decision.outcome == "rejected":
        return _message(
            request,
            title=_("Request declined"),
            message=_("You declined the reactivation. Nothing was changed or charged."),
            status=200,
        )
    if decision.outcome == "failed":
        pay_url = payment.payment_link_for_declined(request=req) or ""
        return _message(
            request,
            title=_("Your subscription was not reactivated"),
            message=_(
                "We could not reactivate your subscription, so it is still cancelled and "
                "nothing was charged."
            ),
            detail=_failure_detail(req),
            tone="error",
            status=200,
            action_url=pay_url,
            action_label=_("Pay with another card") if pay_url else "",
        )
    if decision.outcome == "processing":
        return _message(
            request,
            title=_("Processing your payment"),
            message=_("Your payment is being processed. Reload this page in a moment."),
            status=409,
        )
    # "retry": the processor did not answer; the request stays open.
    return _page(
        request,
        req,
        notice=_(
            "The payment processor did not answer, and nothing was charged. "
            "Please try again in a few minutes."
        ),
        status=503,
    )


def _date(value: Any) -> str:
    from django.utils.formats import date_format

    return date_format(value, "DATE_FORMAT")


def _page(
    request: HttpRequest, req: ReactivationRequest, *, notice: str = "", status: int = 200
) -> HttpResponse:
    context = request_context(req, link="")
    context["notice"] = notice
    return render(request, "reactivation/page.html", context, status=status)


@subscriber_link_page(
    "reactivation-link",
    limit=lambda: settings.REACTIVATION_LINK_RATE_LIMIT,
    window_seconds=lambda: settings.REACTIVATION_LINK_RATE_WINDOW_SECONDS,
)
def reactivation_page(request: HttpRequest, token: str) -> HttpResponse:
    req = selectors.request_for_token(token)
    if req is None:
        return _message(
            request,
            title=_("Link not found"),
            message=_(
                "This link is not valid. Check that you copied the whole link from the email."
            ),
            status=404,
        )
    language = language_for(req.subscription.subscriber.locale)
    with translation.override(language), timezone.override(req.creator.tz):
        request.LANGUAGE_CODE = language
        if req.status == Status.PENDING and timezone.now() >= req.expires_at:
            # Opened late: record the expiry (once, even if the job runs right now).
            services.reactivation_request_expire_if_due(reactivation_request=req)
            req.refresh_from_db(fields=["status", "decided_at"])
        if req.status != Status.PENDING:
            return _gone(request, req)
        if request.method in ("GET", "HEAD"):  # mail scanners send both: read only
            return _page(request, req)
        decision = request.POST.get("decision", "")
        if decision not in ("accept", "reject"):
            return _message(
                request,
                title=_("Choose an answer"),
                message=_("Please use one of the two buttons: accept or decline."),
                status=400,
            )
        try:
            if decision == "accept":
                result = acceptance.reactivation_request_accept(reactivation_request=req)
            else:
                result = acceptance.reactivation_request_reject(reactivation_request=req)
        except services.RequestGone as gone:
            return _gone(request, selectors.request_for_token(token) or gone.request)
        return _decision_answer(request, result)
