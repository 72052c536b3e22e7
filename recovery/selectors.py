"""Reads of the recovery app: the link behind a token and what it stands for."""

from __future__ import annotations

import enum

from django.utils import timezone

from core.links import link_token_hash_or_none
from recovery.models import PaymentLink
from subscriptions.models import Status
from subscriptions.overdue import unpaid_period_start


class LinkState(enum.StrEnum):
    PAYABLE = "payable"
    PAID = "paid"  # the period it was sent for is paid (through it or otherwise)
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a later period is due now: a newer email carries its link
    CLOSED = "closed"  # cancelled or ended: nothing can be paid


def payment_link_for_token(token: str) -> PaymentLink | None:
    """The link behind a token, or None for unknown or tampered tokens (→ 404)."""
    hashed = link_token_hash_or_none(token)
    if hashed is None:
        return None
    return (
        PaymentLink.objects.select_related(
            "creator", "subscription__subscriber", "subscription__plan__product"
        )
        .filter(token_hash=hashed)
        .first()
    )


def payment_link_state(link: PaymentLink) -> LinkState:
    subscription = link.subscription
    if link.purpose == PaymentLink.Purpose.CARD:
        return _card_link_state(link)
    if subscription.paid_through is not None and subscription.paid_through > link.period_start:
        return LinkState.PAID
    if link.purpose == PaymentLink.Purpose.REACTIVATION:
        if timezone.now() >= link.expires_at:
            return LinkState.EXPIRED
        return LinkState.PAYABLE if subscription.is_cancelled else LinkState.CLOSED
    if subscription.status != Status.DELAYED:
        return LinkState.CLOSED
    if timezone.now() >= link.expires_at:
        return LinkState.EXPIRED
    if unpaid_period_start(subscription) != link.period_start:
        return LinkState.SUPERSEDED
    return LinkState.PAYABLE


def _card_link_state(link: PaymentLink) -> LinkState:
    """A card link is done (PAID) once the subscription's card is no longer the one it
    warned of (replaced here, at the processor, or by the card network's updater)."""
    subscription = link.subscription
    if subscription.status not in (Status.ACTIVE, Status.DELAYED):
        return LinkState.CLOSED
    if subscription.card_expires_on != link.period_start:
        return LinkState.PAID
    if timezone.now() >= link.expires_at:
        return LinkState.EXPIRED
    return LinkState.PAYABLE
