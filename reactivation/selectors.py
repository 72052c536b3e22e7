"""Reads for reactivation requests: the subscriber's link, the API list, batch progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Creator
from core.links import link_token_hash, link_token_hash_or_none
from reactivation.models import ReactivationBatch, ReactivationRequest
from subscriptions import billing
from subscriptions.models import Subscription
from subscriptions.reactivation_rules import reactivation_outcome, refusal_for_flags

token_hash = link_token_hash


def request_for_token(token: str) -> ReactivationRequest | None:
    """The request behind a link, or None for unknown or tampered tokens (→ 404)."""
    hashed = link_token_hash_or_none(token)
    if hashed is None:
        return None
    return (
        ReactivationRequest.objects.select_related(
            "creator", "subscription__subscriber", "subscription__plan__product", "charge"
        )
        .filter(token_hash=hashed)
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


@dataclass(frozen=True)
class BulkPreview:
    """What a bulk send would do, before it is sent: how many subscriptions are selected,
    how many will get an email, the refusals by reason code, and the pending requests
    that the new ones will replace (by their mode)."""

    selected: int
    eligible: int
    refused_by_code: dict[str, int]
    pending_by_mode: dict[str, int]


def bulk_preview(
    *, creator: Creator, subscriptions: QuerySet[Subscription], as_support: bool = False
) -> BulkPreview:
    """Two grouped queries whatever the size of the selection. The refusal rule is
    `reactivation_rules.refusal_for_flags`, the one the send applies (a request being accepted
    at that very moment is the only refusal it cannot foresee)."""
    scope = subscriptions.filter(creator=creator)
    groups = scope.values("status", "plan__is_active", "plan__product__is_active").annotate(
        n=Count("id")
    )
    eligible = 0
    refused: dict[str, int] = {}
    eligible_filter = Q(pk__in=[])
    for group in groups:
        on_sale = bool(group["plan__is_active"] and group["plan__product__is_active"])
        refusal = refusal_for_flags(status=group["status"], on_sale=on_sale, as_support=as_support)
        if refusal is None:
            eligible += group["n"]
            eligible_filter |= Q(
                subscription__status=group["status"],
                subscription__plan__is_active=group["plan__is_active"],
                subscription__plan__product__is_active=group["plan__product__is_active"],
            )
        else:
            refused[refusal.code] = refused.get(refusal.code, 0) + group["n"]
    pending: dict[str, int] = {}
    if eligible:
        pending = {
            row["mode"]: row["n"]
            for row in ReactivationRequest.objects.filter(
                eligible_filter,
                creator=creator,
                status=ReactivationRequest.Status.PENDING,
                subscription__in=scope.values("pk"),
            )
            .values("mode")
            .annotate(n=Count("id"))
        }
    return BulkPreview(
        selected=eligible + sum(refused.values()),
        eligible=eligible,
        refused_by_code=refused,
        pending_by_mode=pending,
    )
