"""The reactivation email (SPEC §6.2): what is asked, what will be charged and when,
when the link expires, and the link — in the subscriber's language, text and HTML.

The link's token is drawn here, when the email is built, and only its hash is stored:
the token exists nowhere but in the email.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Creator
from core.bulk import bulk_update_rows
from core.links import link_token_new
from notifications.email import RenderedEmail, email_message, email_render, email_send_many
from reactivation import selectors
from reactivation.models import ReactivationBatch, ReactivationRequest
from subscriptions.models import Plan

logger = logging.getLogger(__name__)

TEMPLATE = "reactivation_request"


token_new = link_token_new


def reactivation_link(token: str) -> str:
    return f"{settings.BASE_URL}/reactivate/{token}/"


def request_context(
    request: ReactivationRequest,
    *,
    link: str,
    now: datetime | None = None,
    preview: selectors.Preview | None = None,
) -> dict[str, Any]:
    """Needs `creator`, `subscription__subscriber` and `subscription__plan__product`."""
    subscription = request.subscription
    if preview is None:
        preview = selectors.request_preview(request, now)
    return {
        "creator_name": request.creator.name,
        "subscriber_name": subscription.subscriber.name,
        "product_name": subscription.plan.product.name,
        "plan_name": subscription.plan.name,
        "mode": request.mode,
        "preview": preview,
        "expires_at": request.expires_at,
        "time_zone": request.creator.time_zone,
        "link": link,
    }


# Per-recipient values are merged into one rendering shared by every recipient with the
# same terms (the ESP-style "merge data"), so a batch renders a handful of templates, not
# three per recipient. Private-use characters cannot come from a template or a translation.
NAME_MARK = "\ue000name\ue000"
LINK_MARK = "\ue000link\ue000"


def _rendered_for(
    request: ReactivationRequest,
    *,
    token: str,
    now: datetime,
    shared: dict[tuple[Any, ...], RenderedEmail],
) -> RenderedEmail:
    subscriber = request.subscription.subscriber
    preview = selectors.request_preview(request, now)
    key = (
        subscriber.locale,
        request.creator_id,
        request.subscription.plan_id,
        request.mode,
        request.expires_at,
        preview,
        bool(subscriber.name),
    )
    template = shared.get(key)
    if template is None:
        # Built only for the first recipient with these terms; the rest reuse it.
        context = request_context(request, link=LINK_MARK, preview=preview)
        context["subscriber_name"] = NAME_MARK if subscriber.name else ""
        with timezone.override(request.creator.tz):
            template = email_render(template=TEMPLATE, context=context, locale=subscriber.locale)
        shared[key] = template
    link = reactivation_link(token)
    return RenderedEmail(
        subject=template.subject.replace(NAME_MARK, subscriber.name),
        text=template.text.replace(NAME_MARK, subscriber.name).replace(LINK_MARK, link),
        # The standard library's escape: Django's is the same function behind a lazy
        # wrapper that costs more than the escaping, 10,000 times per bulk action.
        html=template.html.replace(NAME_MARK, html.escape(subscriber.name)).replace(
            LINK_MARK, html.escape(link)
        ),
    )


def _attach_shared(rows: list[ReactivationRequest]) -> None:
    """Give every row its plan (with product) and creator from one query per batch,
    instead of joining them into every row: the creator's row carries encrypted gateway
    credentials, decrypted once per loaded instance (10,000 times for a bulk action)."""
    plans = Plan.objects.select_related("product", "creator").in_bulk(
        {row.subscription.plan_id for row in rows}
    )
    creators = {plan.creator_id: plan.creator for plan in plans.values()}
    missing = {row.creator_id for row in rows} - creators.keys()
    if missing:  # a plan always belongs to its subscription's creator; never reached
        creators.update(Creator.objects.in_bulk(missing))
    for row in rows:
        row.creator = creators[row.creator_id]
        row.subscription.plan = plans[row.subscription.plan_id]


def reactivation_emails_send(*, request_ids: list[int]) -> int:
    """Email the pending, not yet emailed requests among `request_ids`; how many were sent.

    Rows are claimed under `select_for_update(skip_locked=True)` by setting `emailed_at`
    together with the new token's hash, so two workers never email the same request. If
    sending fails the claim is released (and the task retries with fresh tokens).
    """
    now = timezone.now()
    tokens: dict[int, str] = {}
    with transaction.atomic():
        rows = list(
            ReactivationRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription__subscriber")
            .filter(
                pk__in=request_ids,
                status=ReactivationRequest.Status.PENDING,
                emailed_at__isnull=True,
            )
            .order_by("pk")
        )
        for row in rows:
            tokens[row.pk] = token_new()
            row.token_hash = selectors.token_hash(tokens[row.pk])
            row.emailed_at = now
        # One UPDATE … FROM (VALUES …) per chunk: bulk_update's CASE per row costs
        # seconds at this size.
        bulk_update_rows(rows, ["token_hash", "emailed_at"])
    if not rows:
        return 0
    _attach_shared(rows)
    shared: dict[tuple[Any, ...], RenderedEmail] = {}
    messages = [
        email_message(
            to=row.subscription.subscriber.email,
            rendered=_rendered_for(row, token=tokens[row.pk], now=now, shared=shared),
            headers={"X-Reactivation-Request": str(row.uuid)},
        )
        for row in rows
    ]
    try:
        sent = email_send_many(messages)
    except Exception:
        ReactivationRequest.objects.filter(pk__in=[r.pk for r in rows], emailed_at=now).update(
            emailed_at=None
        )
        raise
    batch_ids = {r.batch_id for r in rows if r.batch_id is not None}
    for batch_id in batch_ids:
        batch_finish_if_done(batch_id=batch_id)
    return sent


def batch_finish_if_done(*, batch_id: int) -> bool:
    """Mark a bulk action done once none of its pending requests waits for its email."""
    waiting = ReactivationRequest.objects.filter(
        batch_id=batch_id, status=ReactivationRequest.Status.PENDING, emailed_at__isnull=True
    ).exists()
    if waiting:
        return False
    return bool(
        ReactivationBatch.objects.filter(
            pk=batch_id, status=ReactivationBatch.Status.SENDING
        ).update(status=ReactivationBatch.Status.DONE, finished_at=timezone.now())
    )
