"""Writes of the recovery app: issuing payment links (one per failed attempt)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError
from core.links import link_token_hash, link_token_new
from recovery.email import payment_link_url
from recovery.models import PaymentLink
from recovery.purposes import PaymentAnswer, payer_for, register_payer
from recovery.selectors import LinkState, payment_link_state
from subscriptions.gateways import GatewayError, get_gateway
from subscriptions.models import Charge, RecoveryPolicy, Status, Subscription, SubscriptionEvent
from subscriptions.overdue import (
    is_payment_page_charge,
    subscription_pay_overdue,
    unpaid_period_start,
)
from subscriptions.services import subscription_payment_method_set

logger = logging.getLogger(__name__)

DUNNING_KINDS = frozenset({Charge.Kind.RENEWAL, Charge.Kind.RETRY})


def link_expiry(*, next_charge_date: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the start of the next due date: the unpaid period's end."""
    return datetime.combine(next_charge_date, time.min, tzinfo=tz)


def payment_link_issue(*, event: SubscriptionEvent) -> PaymentLink | None:
    """Issue the payment link of a `charge.failed` event and queue its email.

    Only for a renewal or scheduled retry (not a payment the subscriber just tried on
    the page, nor a first sale), only while the subscription is still late for that
    period, and only if the product sends the email. Idempotent per event: the link is
    unique on it, so an event processed twice sends one email.
    """
    data = event.data or {}
    if data.get("kind") not in DUNNING_KINDS:
        return None
    subscription = event.subscription
    charge = Charge.objects.filter(
        creator_id=event.creator_id, uuid=data.get("charge"), subscription=subscription
    ).first()
    if charge is None or is_payment_page_charge(charge):
        return None
    subscription.refresh_from_db()
    if subscription.status != Status.DELAYED or subscription.next_charge_date is None:
        return None
    if unpaid_period_start(subscription) != charge.period_start:
        return None  # an old event: that period is no longer the one due
    policy = RecoveryPolicy.objects.filter(product_id=subscription.plan.product_id).first()
    if policy is not None and not policy.send_payment_failed_email:
        return None
    now = timezone.now()
    link = PaymentLink(
        creator_id=event.creator_id,
        subscription=subscription,
        event=event,
        period_start=charge.period_start,
        amount=Decimal(charge.amount),
        currency=charge.currency,
        attempt=int(data.get("attempt") or charge.attempt + 1),
        created_at=now,
        expires_at=link_expiry(
            next_charge_date=subscription.next_charge_date, tz=subscription.creator.tz
        ),
    )
    try:
        with transaction.atomic():
            link.save(force_insert=True)
    except IntegrityError:
        return None  # this event's link exists: processed before
    from recovery.tasks import payment_emails_dispatch

    transaction.on_commit(lambda: payment_emails_dispatch([link.pk]))
    return link


def payment_link_for_charge(
    *,
    subscription: Subscription,
    charge: Charge,
    purpose: str,
    reference: UUID,
    expires_at: datetime,
) -> str:
    """Issue a link to pay `charge`'s amount with another method, for a page that shows
    it at once (a declined reactivate-and-charge); its URL, the only place the token is."""
    token = link_token_new()
    PaymentLink.objects.create(
        creator_id=subscription.creator_id,
        subscription=subscription,
        purpose=purpose,
        reference=reference,
        period_start=charge.period_start,
        amount=charge.amount,
        currency=charge.currency,
        attempt=1,
        created_at=timezone.now(),
        expires_at=expires_at,
        token_hash=link_token_hash(token),
        emailed_at=None,
    )
    return payment_link_url(token)


def _pay_overdue(link: PaymentLink, payment_method: str) -> PaymentAnswer:
    try:
        result = subscription_pay_overdue(
            subscription=link.subscription, payment_method=payment_method
        )
    except DomainError as exc:
        return PaymentAnswer("invalid_method", exc.message)
    if result.outcome == "paid":
        link.subscription.refresh_from_db()
        return PaymentAnswer("paid", next_charge_date=link.subscription.next_charge_date)
    return PaymentAnswer(result.outcome, result.message)


register_payer(PaymentLink.Purpose.OVERDUE, _pay_overdue)


def _replace_card(link: PaymentLink, payment_method: str) -> PaymentAnswer:
    """A card link saves the new method and charges nothing; the next renewal (or a
    pending retry) uses it. A method saved on the processor's page is already saved."""
    subscription = link.subscription
    if payment_method == subscription.payment_method:
        return PaymentAnswer("updated", next_charge_date=subscription.next_charge_date)
    try:
        get_gateway(subscription.creator).validate_payment_method(
            payment_method=payment_method, customer=subscription.subscriber.gateway_customer_id
        )
    except GatewayError as exc:
        return PaymentAnswer("invalid_method", str(exc))
    with transaction.atomic():
        link.subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if payment_link_state(link) is not LinkState.PAYABLE:
            return PaymentAnswer("nothing_due")
        updated = subscription_payment_method_set(
            subscription=link.subscription,
            payment_method=payment_method,
            data={"source": "card_link", "payment_link": str(link.uuid)},
        )
    return PaymentAnswer("updated", next_charge_date=updated.next_charge_date)


register_payer(PaymentLink.Purpose.CARD, _replace_card)


def payment_link_pay_with_saved_method(*, event: SubscriptionEvent) -> PaymentAnswer | None:
    """A card saved on the processor's page for a payment link (Stripe Checkout in setup
    mode) pays what the link is for. Idempotent: once paid, the payer finds nothing due."""
    link = PaymentLink.objects.filter(
        creator_id=event.creator_id,
        subscription_id=event.subscription_id,
        uuid=(event.data or {}).get("payment_link"),
    ).first()
    if link is None:
        return None
    link.subscription.refresh_from_db()
    if payment_link_state(link) is not LinkState.PAYABLE:
        return None
    answer = payer_for(link.purpose)(link, link.subscription.payment_method)
    logger.info("payment link %s paid with the saved method: %s", link.uuid, answer.outcome)
    return answer


def payment_checkout_url(*, link: PaymentLink, page_url: str) -> str | None:
    """Where the subscriber enters a new card for this link on the processor's own page
    (None: our page collects a test token). Raises DomainError if it cannot start now."""
    subscription = link.subscription
    try:
        return get_gateway(subscription.creator).payment_method_setup_url(
            customer=subscription.subscriber.gateway_customer_id,
            success_url=f"{page_url}?checkout=done",
            cancel_url=page_url,
            metadata={"subscription": str(subscription.uuid), "payment_link": str(link.uuid)},
        )
    except GatewayError as exc:
        raise DomainError(str(exc), code="checkout_unavailable") from exc
