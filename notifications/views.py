"""The development outbox (SPEC §13): the emails the development backend captured, so a
person can read them and click their links. Answers 404 unless DEBUG is on."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from core.security import csp_policy
from notifications.models import OutboxEmail

LIST_LIMIT = 200
# Links inside the sandboxed frame open in a new tab (the frame may not navigate itself).
BASE_TARGET = '<base target="_blank">'


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404


def outbox_list(request: HttpRequest) -> HttpResponse:
    _debug_only()
    emails = OutboxEmail.objects.only("id", "to", "subject", "created_at")[:LIST_LIMIT]
    return render(request, "notifications/outbox_list.html", {"emails": emails})


def outbox_detail(request: HttpRequest, email_id: int) -> HttpResponse:
    _debug_only()
    email = get_object_or_404(OutboxEmail, pk=email_id)
    srcdoc = BASE_TARGET + email.body_html if email.body_html else ""
    response = render(
        request, "notifications/outbox_detail.html", {"email": email, "srcdoc": srcdoc}
    )
    # The srcdoc iframe inherits this page's policy, and emails are styled inline (mail
    # clients need that): allow inline styles here only (DEBUG-only page; the iframe is
    # sandboxed, so no script runs either way).
    response["Content-Security-Policy"] = csp_policy().replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
    return response
