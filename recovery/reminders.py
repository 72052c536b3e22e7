"""Renewal reminders (SPEC §4.6 lifecycle notices): the subscriber hears of a renewal a
few days before it is charged, so a yearly charge never comes as a surprise (the
commonest reason for a chargeback on annual plans).

The rule, per product (Settings → Payment recovery), on the creator's local date:
- not set (the default): 7 days before the renewal of a yearly plan; none for shorter
  periods;
- 0: never;
- N: N days before, for every plan of the product whose period is longer than N days
  (a weekly plan is never reminded 7 days ahead).

*A yearly plan renewing on March 10, 2027 is reminded on March 3, 2027.* One reminder
per renewal (`Subscription.renewal_reminded_for` holds the due date reminded), only for
ACTIVE subscriptions, and not on or after the due date. The reminder is the event
`renewal.upcoming` (a segmentation trigger and a webhook, like every event), recorded in
the same transaction as the claim, and an email in the subscriber's language with the
date and the amount (`recovery.notices`, kind `renewal_reminder`, sent once and swept
like the other notices).

A free trial's end (subscriptions/trials.py) is reminded by the same job, always three
days before and whatever the product says: `trial.ending` and the trial-ending email.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import scheduling
from recovery.models import NoticeSent
from recovery.notices import notices_dispatch
from subscriptions import billing
from subscriptions.events import EventType
from subscriptions.models import Charge, Period, RecoveryPolicy, Status, Subscription
from subscriptions.outbox import event_record
from subscriptions.policies import recovery_policies_of
from subscriptions.services import due_amount
from subscriptions.trials import TRIAL_REMINDER_DAYS

DEFAULT_DAYS = 7
MAX_DAYS = 60
BATCH = 500
# A period's length in days, at least (to skip reminders longer than the period).
_MIN_DAYS = {"weekly": 7, **{p: 28 * m for p, m in billing.MONTHS_PER_PERIOD.items()}}


def reminder_days(*, period: str, policy: RecoveryPolicy | None) -> int | None:
    """How many days before a renewal of a plan with this period the subscriber is
    reminded, or None for no reminder (see the module)."""
    days = policy.renewal_reminder_days if policy is not None else None
    if days is None:
        return DEFAULT_DAYS if period == Period.YEARLY else None
    if days == 0 or days >= _MIN_DAYS[period]:
        return None
    return days


@scheduling.register_job("renewal_reminders", queue="email")
def renewal_reminders_send(*, now: datetime | None = None) -> int:
    """Remind the subscribers whose renewal is within their reminder window; returns how
    many were reminded. Rows are claimed with `SKIP LOCKED`, so two runs never remind
    one renewal twice."""
    now = now or timezone.now()
    horizon = now.date() + timedelta(days=MAX_DAYS + 1)
    reminded = 0
    with transaction.atomic():
        candidates = list(
            Subscription.objects.filter(
                status=Status.ACTIVE,
                next_charge_date__isnull=False,
                next_charge_date__gte=now.date() - timedelta(days=1),
                next_charge_date__lte=horizon,
            )
            .filter(
                Q(renewal_reminded_for__isnull=True)
                | ~Q(renewal_reminded_for=F("next_charge_date"))
            )
            .select_related("plan__product", "creator")
            .select_for_update(of=("self",), skip_locked=True)
            .order_by("next_charge_date", "pk")[:BATCH]
        )
        policies = recovery_policies_of(candidates)
        issued: list[tuple[int, str]] = []
        for subscription in candidates:
            due = subscription.next_charge_date
            assert due is not None
            trial = subscription.trial_ends_on == due
            days = (
                TRIAL_REMINDER_DAYS
                if trial
                else reminder_days(
                    period=subscription.plan.period,
                    policy=policies.get(subscription.plan.product_id),
                )
            )
            today = billing.local_date(now, subscription.creator.tz)
            if days is None or not (due - timedelta(days=days) <= today < due):
                continue
            subscription.renewal_reminded_for = due
            subscription.save(update_fields=["renewal_reminded_for"])
            kind = NoticeSent.Kind.TRIAL_ENDING if trial else NoticeSent.Kind.RENEWAL_REMINDER
            event = event_record(
                subscription=subscription,
                type=EventType.TRIAL_ENDING if trial else EventType.RENEWAL_UPCOMING,
                data={
                    "next_charge_date": due.isoformat(),
                    "amount": str(due_amount(subscription, Charge.Kind.RENEWAL, due)),
                    "currency": subscription.plan.currency,
                    "days_before": (due - today).days,
                    **({"card": bool(subscription.payment_method)} if trial else {}),
                },
                occurred_at=now,
            )
            NoticeSent.objects.create(creator_id=subscription.creator_id, event=event, kind=kind)
            issued.append((event.pk, kind))
            reminded += 1
        for event_id, notice in issued:
            transaction.on_commit(partial(notices_dispatch, event_id, [notice]))
    return reminded
