"""The subscriber's payment page `/pay/<token>/` (SPEC §4.6).

GET shows what is due and changes nothing (mail scanners prefetch links); POST with the
CSRF token and a payment method pays the unpaid period at once. A paid, expired,
superseded or closed link answers 410 with a plain sentence; an unknown or tampered
token 404.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.private_pages import subscriber_link_page
from notifications.email import language_for
from recovery.email import link_context
from recovery.models import PaymentLink
from recovery.purposes import PaymentAnswer, payer_for
from recovery.selectors import LinkState, payment_link_for_token, payment_link_state
from recovery.services import payment_checkout_url


def _message(
    request: HttpRequest, *, title: str, message: str, status: int, tone: str = ""
) -> HttpResponse:
    context = {"title": title, "message": message, "tone": tone, "detail": ""}
    return render(request, "reactivation/message.html", context, status=status)


def _gone(request: HttpRequest, link: PaymentLink, state: LinkState) -> HttpResponse:
    creator = link.creator.name
    messages = {
        LinkState.PAID: (
            _("Payment received"),
            _("This payment is settled. Your subscription is active. Thank you!"),
            "ok",
        ),
        LinkState.EXPIRED: (
            _("This link has expired"),
            _("This payment link has expired. Contact %(creator)s if you still want to pay.")
            % {"creator": creator},
            "",
        ),
        LinkState.SUPERSEDED: (
            _("This link can no longer be used"),
            _("A newer payment is due. Use the most recent email from %(creator)s.")
            % {"creator": creator},
            "",
        ),
        LinkState.CLOSED: (
            _("This link can no longer be used"),
            _("This subscription is no longer active, so there is nothing to pay here."),
            "",
        ),
    }
    if link.purpose == PaymentLink.Purpose.CARD:
        messages[LinkState.PAID] = (
            _("Card updated"),
            _("Your subscription already uses a new card. Nothing else to do. Thank you!"),
            "ok",
        )
        messages[LinkState.EXPIRED] = (
            _("This link has expired"),
            _(
                "The card this link was for has expired. If a payment fails you will get "
                "an email with a link to pay with another card."
            ),
            "",
        )
        messages[LinkState.CLOSED] = (
            _("This link can no longer be used"),
            _("This subscription is no longer active, so there is no card to replace."),
            "",
        )
    title, message, tone = messages[state]
    return _message(request, title=title, message=message, tone=tone, status=410)


def _page(
    request: HttpRequest,
    link: PaymentLink,
    *,
    notice: str = "",
    status: int = 200,
    tone: str = "error",
) -> HttpResponse:
    context = link_context(link, url="")
    context.update(
        notice=notice,
        notice_tone=tone,
        gateway=link.creator.gateway,
        purpose=link.purpose,
    )
    return render(request, "recovery/page.html", context, status=status)


@subscriber_link_page(
    "payment-link",
    limit=lambda: settings.PAYMENT_LINK_RATE_LIMIT,
    window_seconds=lambda: settings.PAYMENT_LINK_RATE_WINDOW_SECONDS,
)
def payment_page(request: HttpRequest, token: str) -> HttpResponse:
    link = payment_link_for_token(token)
    if link is None:
        return _message(
            request,
            title=_("Link not found"),
            message=_(
                "This link is not valid. Check that you copied the whole link from the email."
            ),
            status=404,
        )
    language = language_for(link.subscription.subscriber.locale)
    with translation.override(language), timezone.override(link.creator.tz):
        request.LANGUAGE_CODE = language
        state = payment_link_state(link)
        if state is not LinkState.PAYABLE:
            return _gone(request, link, state)
        if request.method in ("GET", "HEAD"):  # mail scanners send both: read only
            notice = ""
            if request.GET.get("checkout") == "done":
                notice = (
                    _("Your new card is being saved. Reload in a moment.")
                    if link.purpose == PaymentLink.Purpose.CARD
                    else _("Your new card is saved and is being charged. Reload in a moment.")
                )
            return _page(request, link, notice=notice, tone="ok" if notice else "")
        page_url = f"{settings.BASE_URL}{request.path}"
        try:
            checkout = payment_checkout_url(link=link, page_url=page_url)
        except DomainError:
            return _page(
                request,
                link,
                notice=_("The card page could not be opened. Please try again in a few minutes."),
                status=503,
            )
        if checkout is not None:  # the processor's own page collects the card
            return HttpResponseRedirect(checkout, status=303)
        payment_method = request.POST.get("payment_method", "").strip()
        if not payment_method:
            return _page(request, link, notice=_("Enter a payment method."), status=400)
        answer = payer_for(link.purpose)(link, payment_method)
        return _answer(request, link, answer)


def _answer(request: HttpRequest, link: PaymentLink, answer: PaymentAnswer) -> HttpResponse:
    if answer.outcome == "updated":
        message = _("Your subscription to %(product)s will use the new card.") % {
            "product": link.subscription.plan.product.name
        }
        if answer.next_charge_date:
            message += " " + _("It will be charged on %(date)s.") % {
                "date": _date(answer.next_charge_date)
            }
        return _message(request, title=_("Card saved"), message=message, tone="ok", status=200)
    if answer.outcome == "paid":
        return _message(
            request,
            title=_("Payment received"),
            message=_(
                "Thank you! Your subscription to %(product)s is active again. "
                "Your next charge will be on %(date)s."
            )
            % {
                "product": link.subscription.plan.product.name,
                "date": _date(answer.next_charge_date),
            },
            tone="ok",
            status=200,
        )
    if answer.outcome == "invalid_method":
        return _page(
            request,
            link,
            notice=_("This payment method cannot be used. Check it and try again."),
            status=400,
        )
    if answer.outcome == "declined":
        return _page(
            request,
            link,
            notice=_("The payment was not approved: %(reason)s Try another card.")
            % {"reason": answer.message},
        )
    if answer.outcome == "processing":
        return _message(
            request,
            title=_("Processing your payment"),
            message=_("Your payment is being processed. Reload this page in a moment."),
            status=409,
        )
    if answer.outcome == "nothing_due":
        link.subscription.refresh_from_db()
        state = payment_link_state(link)
        return _gone(request, link, state if state is not LinkState.PAYABLE else LinkState.CLOSED)
    return _page(
        request,
        link,
        notice=_(
            "The payment processor did not answer, and nothing was charged. "
            "Please try again in a few minutes."
        ),
        status=503,
    )


def _date(value: date | None) -> str:
    return date_format(value, "DATE_FORMAT") if value else ""
