"""The payment-failed (dunning) email: what failed, how much, when the next attempt is,
and the payment link — in the subscriber's language, text and HTML.

The link's token is drawn when the email is sent and only its hash is stored.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.links import link_token_hash, link_token_new
from notifications.email import email_message, email_render, email_send_many
from recovery.models import PaymentLink
from subscriptions.models import RecoveryPolicy

# The email of each emailed link's purpose (a declined reactivation's link is shown on
# the page at once, never emailed).
TEMPLATES = {
    PaymentLink.Purpose.OVERDUE: "payment_failed",
    PaymentLink.Purpose.CARD: "card_expiring",
}


def payment_link_url(token: str) -> str:
    return f"{settings.BASE_URL}/pay/{token}/"


def link_context(link: PaymentLink, *, url: str) -> dict[str, Any]:
    """Needs `creator`, `subscription__subscriber`, `subscription__plan__product`."""
    subscription = link.subscription
    policy = RecoveryPolicy.objects.filter(product_id=subscription.plan.product_id).first()
    next_attempt: date | None = subscription.next_retry_date
    return {
        "creator_name": link.creator.name,
        "subscriber_name": subscription.subscriber.name,
        "product_name": subscription.plan.product.name,
        "plan_name": subscription.plan.name,
        "amount": link.amount,
        "currency": link.currency,
        "attempt": link.attempt,
        "next_attempt": next_attempt if not subscription.retries_stopped_code else None,
        "retries_stopped": bool(subscription.retries_stopped_code),
        # Shown as the last minute it works: "until Jan 2, 11:59 p.m." rather than
        # "until Jan 3, midnight", which reads as a day too many.
        "expires_at": link.expires_at - timedelta(minutes=1),
        "time_zone": link.creator.time_zone,
        "final_action": policy.final_action if policy else RecoveryPolicy.FinalAction.LEAVE_UNPAID,
        "custom_message": policy.payment_failed_message if policy else "",
        # A card link: the last day the card it asks to replace can be charged.
        "card_expires_on": link.period_start,
        "next_charge_date": subscription.next_charge_date,
        "link": url,
    }


def payment_emails_send(*, link_ids: list[int]) -> int:
    """Email the links among `link_ids` not emailed yet; how many were sent.

    Each row is claimed under `select_for_update(skip_locked=True)` by storing its new
    token's hash with `emailed_at`, so two workers never email the same link; if sending
    fails the claim is released and a later try draws fresh tokens.
    """
    now = timezone.now()
    tokens: dict[int, str] = {}
    with transaction.atomic():
        rows = list(
            PaymentLink.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("creator", "subscription__subscriber", "subscription__plan__product")
            .filter(pk__in=link_ids, emailed_at__isnull=True, purpose__in=list(TEMPLATES))
            .order_by("pk")
        )
        for row in rows:
            tokens[row.pk] = link_token_new()
            row.token_hash = link_token_hash(tokens[row.pk])
            row.emailed_at = now
            row.save(update_fields=["token_hash", "emailed_at"])
    if not rows:
        return 0
    messages = []
    for row in rows:
        subscriber = row.subscription.subscriber
        with timezone.override(row.creator.tz):
            rendered = email_render(
                template=TEMPLATES[PaymentLink.Purpose(row.purpose)],
                context=link_context(row, url=payment_link_url(tokens[row.pk])),
                locale=subscriber.locale,
            )
        messages.append(
            email_message(
                to=subscriber.email, rendered=rendered, headers={"X-Payment-Link": str(row.uuid)}
            )
        )
    try:
        return email_send_many(messages)
    except Exception:
        PaymentLink.objects.filter(pk__in=[r.pk for r in rows], emailed_at=now).update(
            emailed_at=None, token_hash=None
        )
        raise
