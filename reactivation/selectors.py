"""Reads for reactivation requests: the subscriber's link, the API list, batch progress."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Creator
from reactivation.models import ReactivationBatch, ReactivationRequest
from subscriptions import billing
from subscriptions.reactivation_rules import reactivation_outcome

# secrets.token_urlsafe(32): 43 URL-safe characters, 256 random bits.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def request_for_token(token: str) -> ReactivationRequest | None:
    """The request behind a link, or None for unknown or tampered tokens (→ 404)."""
    if not TOKEN_PATTERN.match(token):
        return None
    return (
        ReactivationRequest.objects.select_related(
            "creator", "subscription__subscriber", "subscription__plan__product", "charge"
        )
        .filter(token_hash=token_hash(token))
        .first()
    )


def requests_for_creator(
    *, creator: Creator, status: str | None = None
) -> QuerySet[ReactivationRequest]:
    queryset = ReactivationRequest.objects.filter(creator=creator).select_related("subscription")
    if status:
        queryset = queryset.filter(status=status)
    return queryset


@dataclass(frozen=True)
class Preview:
    """What accepting now would do, for the page and the email (SPEC §6.2)."""

    same_cycle: bool
    charge_today: bool
    amount: Decimal
    currency: str
    next_charge_date: date
    accepted_on: date


def request_preview(request: ReactivationRequest, now: datetime | None = None) -> Preview:
    """Needs `subscription__plan` and `creator` loaded."""
    subscription = request.subscription
    plan = subscription.plan
    accepted_on = billing.local_date(now or timezone.now(), request.creator.tz)
    outcome = reactivation_outcome(
        mode=request.mode,
        paid_through=subscription.paid_through,
        anchor=subscription.billing_anchor,
        period=plan.period,
        accepted_on=accepted_on,
    )
    return Preview(
        same_cycle=outcome.same_cycle,
        charge_today=outcome.charge_today,
        amount=plan.price,
        currency=plan.currency,
        next_charge_date=outcome.next_charge_date,
        accepted_on=accepted_on,
    )


@dataclass(frozen=True)
class BatchProgress:
    total: int
    created: int
    refused: int
    emailed: int
    left: int
    status: str


def batch_progress(*, batch: ReactivationBatch) -> BatchProgress:
    """Counts the dashboard polls while a bulk action's emails go out (one query)."""
    counts = ReactivationRequest.objects.filter(batch=batch).aggregate(
        emailed=Count("pk", filter=Q(emailed_at__isnull=False)),
        left=Count("pk", filter=Q(status=ReactivationRequest.Status.PENDING, emailed_at=None)),
    )
    return BatchProgress(
        total=batch.total,
        created=batch.created_count,
        refused=batch.refused_count,
        emailed=counts["emailed"],
        left=counts["left"],
        status=batch.status,
    )
