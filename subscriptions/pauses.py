"""Pause and resume as services (the rules and their worked example are in
subscriptions/pause_rules.py): lock the row, apply the transition, record its events in
the same transaction. A resume that starts a new period is charged by the renewal run
for that one subscription, the same code and key as any renewal of that period."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorKind
from core.errors import Conflict, DomainError
from subscriptions import billing, transitions
from subscriptions.models import Charge, RecoveryPolicy, Status, Subscription
from subscriptions.pause_rules import (
    PauseWhen,
    ResumeHow,
    ResumeOutcome,
    access_until,
    pause_resume_date,
    resume_outcome,
)
from subscriptions.policies import product_policy
from subscriptions.renewals import renewal_run_for
from subscriptions.services import subscription_locked, transition_record

logger = logging.getLogger(__name__)


# --- the services ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """What a pause request did: `starts_on` is today (`now`) or the next due date."""

    when: str
    starts_on: date
    resumes_on: date | None
    access_until: date


def subscription_pause(
    *,
    subscription: Subscription,
    actor: Actor,
    when: str = PauseWhen.NOW,
    periods: int | None = None,
    until: date | None = None,
    offered: bool = False,
) -> Pause:
    """Pause now or at the period end (see the module). Conflict unless ACTIVE, or when
    a subscriber pauses where the product does not allow it or for longer than it
    allows (unless the pause is the product's retention offer, `offered`); DomainError
    for a length that is not possible."""
    if when not in PauseWhen.values:
        raise DomainError("Choose when to pause: now or at the end of the paid period.")
    with transaction.atomic():
        locked = subscription_locked(subscription)
        if locked.status == Status.PAUSED:
            raise Conflict("This subscription is already paused.", code="already_paused")
        if locked.status != Status.ACTIVE or locked.next_charge_date is None:
            raise Conflict(
                "Only an active subscription can be paused; this one is "
                f"{locked.get_status_display()}.",
                code="not_active",
            )
        policy = product_policy(locked)
        if actor.kind is ActorKind.SUBSCRIBER and not offered:
            _subscriber_may_pause(policy, periods=periods, until=until)
        today = billing.local_date(timezone.now(), locked.creator.tz)
        resumes_on = pause_resume_date(
            subscription=locked, periods=periods, until=until, today=today
        )
        if when == PauseWhen.PERIOD_END and locked.next_charge_date > today:
            transitions.pause_scheduled(
                locked, starts_on=locked.next_charge_date, resumes_on=resumes_on
            )
            locked.save(update_fields=["pause_starts_on", "resumes_on", "updated_at"])
            logger.info("pause of %s from %s scheduled by %s", locked.uuid, today, actor)
            return Pause(
                when,
                locked.next_charge_date,
                resumes_on,
                access_until(policy, paused_on=locked.next_charge_date, paid_through=None),
            )
        until_day = access_until(policy, paused_on=today, paid_through=locked.paid_through)
        events = transitions.paused(
            locked,
            on=today,
            resumes_on=resumes_on,
            access_until=until_day,
            data={"when": PauseWhen.NOW.value, "actor": actor.ref},
        )
        locked.save()
        transition_record(subscription=locked, events=events)
    return Pause(PauseWhen.NOW, today, resumes_on, until_day)


def _subscriber_may_pause(
    policy: RecoveryPolicy | None, *, periods: int | None, until: date | None
) -> None:
    if policy is None or not policy.subscribers_can_pause:
        raise Conflict("Pausing is not offered for this subscription.", code="pause_not_offered")
    if until is not None or periods is None or periods > policy.max_pause_periods:
        raise Conflict(
            f"You can pause for 1 to {policy.max_pause_periods} periods.",
            code="pause_too_long",
        )


@dataclass(frozen=True)
class Resume:
    """What a resume did: the outcome (None when a scheduled pause was called off) and
    the charge of a new period, if one was made (its status says how it went)."""

    outcome: ResumeOutcome | None
    charge: Charge | None = None


def subscription_resume(
    *, subscription: Subscription, actor: Actor, how: str = ResumeHow.NEW_PERIOD
) -> Resume:
    """Resume now (see the module): a new period is charged at once by the renewal run
    for this subscription. A pause still waiting for the period end is called off.
    Conflict when it is neither paused nor about to be; a subscriber always resumes
    with `new_period` (only the creator grants a period)."""
    if how not in ResumeHow.values:
        raise DomainError("Choose how to resume: new_period or continue.")
    if actor.kind is ActorKind.SUBSCRIBER:
        how = ResumeHow.NEW_PERIOD
    with transaction.atomic():
        locked = subscription_locked(subscription)
        if locked.status == Status.ACTIVE and locked.pause_starts_on is not None:
            transitions.pause_scheduled(locked, starts_on=None, resumes_on=None)
            locked.save(update_fields=["pause_starts_on", "resumes_on", "updated_at"])
            return Resume(None)
        if locked.status != Status.PAUSED:
            raise Conflict("This subscription is not paused.", code="not_paused")
        today = billing.local_date(timezone.now(), locked.creator.tz)
        outcome = resume_outcome(
            how=how,
            paid_through=locked.paid_through,
            anchor=locked.billing_anchor,
            period=locked.plan.period,
            on=today,
        )
        events = transitions.resumed(locked, outcome=outcome, data={"actor": actor.ref})
        locked.save()
        transition_record(subscription=locked, events=events)
    if not outcome.charge_now:
        return Resume(outcome)
    renewal_run_for(locked.pk)
    charge = (
        Charge.objects.filter(subscription=locked, period_start=outcome.next_charge_date)
        .exclude(kind=Charge.Kind.PLAN_CHANGE)
        .order_by("-created_at")
        .first()
    )
    return Resume(outcome, charge)
