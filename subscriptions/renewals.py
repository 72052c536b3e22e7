"""Renewals and late payments (SPEC §4.3), processed in batches.

Three periodic jobs share one engine. Per batch of due subscriptions:

1. **claim** (one short transaction): lock up to `BATCH_SIZE` due rows with
   `FOR UPDATE SKIP LOCKED`, apply the changes that need no money (a fifth unpaid
   recurrence cancels, a first charge never confirmed makes the sale INACTIVE) and
   commit one `pending` charge per remaining row. A row with a charge already in flight
   (a parallel run's, younger than `PENDING_LEASE`) is left to that run.
2. **charge**: call the gateway for each pending charge, outside any transaction, with
   the charge's idempotency key.
3. **settle** (one short transaction): lock the rows again, record each answer and apply
   the same transitions as the single-subscription services
   (`subscriptions.transitions`: paid, declined, cancelled…, all in memory); rows,
   charges and events are written with bulk statements.

A crash between 1 and 3 leaves `pending` charges; once their lease runs out the next
run takes them over and calls the gateway again with the same key, so the processor
charges once. A transient gateway error leaves the charge `failed` and the subscription
unchanged: a later run retries it with the same key, backing off exponentially
(`transient_try_due`: 1, 2, 4 … minutes, then hourly), and no event is written per try.

Late payments: a declined renewal makes the subscription DELAYED and schedules retries
on the creator's retry days after the due date (default 1, 3, 5); `next_charge_date`
moves to the next due date, so the unpaid period is always the one before it. A paid
retry returns to ACTIVE on the original anchor. When the next due date arrives still
unpaid, the ended period counts as one unpaid recurrence and the new period is charged;
the fifth consecutive one cancels the subscription as CANCELLED_BY_ADMIN (reason
`unpaid`) without charging again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Creator
from core.actors import Actor
from core.bulk import bulk_insert_rows, bulk_update_rows
from core.tenancy import tenant_context
from subscriptions import billing, pause_rules, transitions
from subscriptions.declines import decline_code, is_hard_decline
from subscriptions.gateways import ChargeOutcome, ChargeResult, PaymentGateway, get_gateway
from subscriptions.models import Charge, Plan, RecoveryPolicy, Status, Subscription
from subscriptions.outbox import events_batched
from subscriptions.overdue import PAGE_KEY_MARK
from subscriptions.services import (
    charge_build,
    charge_call_gateway,
    charge_failed_record,
    charge_result_apply,
    first_charge_outcome_apply,
    period_end_for,
    transition_record,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# A pending charge younger than this belongs to the run that is calling the gateway.
PENDING_LEASE = timedelta(minutes=10)
# Tries of one scheduled attempt after a transient gateway error back off: each waits as
# long as the error has lasted so far, at least TRANSIENT_BACKOFF_MIN and at most
# TRANSIENT_BACKOFF_MAX (tries at 0, 1, 2, 4, 8, 16, 32 minutes, then hourly).
TRANSIENT_BACKOFF_MIN = timedelta(minutes=1)
TRANSIENT_BACKOFF_MAX = timedelta(hours=1)
UNPAID_RECURRENCES_LIMIT = 5
# A sale calls the gateway itself; the first-charge job only looks at older ones.
FIRST_CHARGE_GRACE = timedelta(minutes=1)

_CHARGE_SETTLE_FIELDS = ["status", "gateway_reference", "failure_message", "updated_at"]


_snapshot = transitions.snapshot


@dataclass(frozen=True)
class ChargeSpec:
    kind: str
    period_start: date
    attempt: int


class _Context:
    """What a run loads once: plans, creators, their gateways and local dates."""

    def __init__(self, now: datetime, *, only: list[int] | None = None) -> None:
        self.now = now
        # A run for given subscriptions only (a processor's webhook settling their open
        # charge): no backoff, the processor has just said the answer is ready.
        self.only = only
        self.due_conditions: dict[str, Q] = {}
        self._plans: dict[int, Plan] = {}
        self._policies: dict[int, RecoveryPolicy | None] = {}
        self._creators: dict[int, Creator] = {}
        self._gateways: dict[int, PaymentGateway] = {}
        self._today: dict[str, date] = {}

    def attach(self, subscriptions: Iterable[Subscription]) -> None:
        subscriptions = list(subscriptions)
        missing_plans = {s.plan_id for s in subscriptions} - self._plans.keys()
        if missing_plans:
            self._plans.update(Plan.objects.in_bulk(missing_plans))
        missing_creators = {s.creator_id for s in subscriptions} - self._creators.keys()
        if missing_creators:
            self._creators.update(Creator.objects.in_bulk(missing_creators))
        missing_products = {
            self._plans[s.plan_id].product_id for s in subscriptions
        } - self._policies.keys()
        if missing_products:
            found = {
                p.product_id: p
                for p in RecoveryPolicy.objects.filter(product_id__in=missing_products)
            }
            self._policies.update({pk: found.get(pk) for pk in missing_products})
        for subscription in subscriptions:
            subscription.plan = self._plans[subscription.plan_id]
            subscription.creator = self._creators[subscription.creator_id]
            subscription._recovery_policy = self._policies[subscription.plan.product_id]  # type: ignore[attr-defined]

    def plan(self, plan_id: int) -> Plan:
        if plan_id not in self._plans:
            self._plans[plan_id] = Plan.objects.get(pk=plan_id)
        return self._plans[plan_id]

    def today(self, subscription: Subscription) -> date:
        tz = subscription.creator.time_zone
        if tz not in self._today:
            self._today[tz] = billing.local_date(self.now, tz)
        return self._today[tz]

    def gateway(self, creator: Creator) -> PaymentGateway:
        if creator.pk not in self._gateways:
            self._gateways[creator.pk] = get_gateway(creator)
        return self._gateways[creator.pk]


class Rules(Protocol):
    """One job's rules: which rows are due, what to charge, how to apply the answer."""

    date_field: str

    def due(self, ctx: _Context) -> QuerySet[Subscription]: ...

    def prepare(self, subscription: Subscription, ctx: _Context) -> ChargeSpec | None:
        """The charge to make, or None (the row may have been changed in memory)."""
        ...

    def apply(
        self, subscription: Subscription, charge: Charge, result: ChargeResult, ctx: _Context
    ) -> None: ...


def _due_on_local_date(date_field: str, ctx: _Context) -> Q:
    """`date_field <= the creator's local today`, for every time zone in use.

    Written without a join on the creator so that PostgreSQL walks the job's partial
    index in (date, id) order and stops at the batch size: rows up to the earliest local
    today are due everywhere; the one or two later days only for the creators of the
    zones already there (a semi-join). Joining the creator instead let the planner scan
    every billable row of the creator and sort them for each batch (~1 s a batch at
    100,000 due rows, docs/benchmarks.md B5).
    """
    if date_field in ctx.due_conditions:  # one run, one clock: built for its first batch
        return ctx.due_conditions[date_field]
    zones_by_day: dict[date, list[str]] = defaultdict(list)
    zones = Creator.objects.order_by().values_list("time_zone", flat=True).distinct()
    for tz in zones:
        zones_by_day[billing.local_date(ctx.now, tz)].append(tz)
    if not zones_by_day:
        return Q(pk__in=[])
    days = sorted(zones_by_day)
    everywhere = Q(**{f"{date_field}__lte": days[0]})
    condition = everywhere
    for day in days[1:]:
        ahead = [tz for later in days if later >= day for tz in zones_by_day[later]]
        condition |= Q(
            creator_id__in=Creator.objects.filter(time_zone__in=ahead).values("pk"),
            **{f"{date_field}__lte": day},
        )
    # The upper bound alone as well, so that it bounds the index scan.
    ctx.due_conditions[date_field] = Q(**{f"{date_field}__lte": days[-1]}) & condition
    return ctx.due_conditions[date_field]


def _unpaid_period_start(subscription: Subscription) -> date:
    """While DELAYED, the unpaid period is the one before `next_charge_date`."""
    plan = subscription.plan
    assert subscription.next_charge_date is not None
    n = billing.period_index(
        subscription.billing_anchor, plan.period, subscription.next_charge_date
    )
    return billing.due_date(subscription.billing_anchor, plan.period, n - 1)


def _policy(subscription: Subscription) -> RecoveryPolicy | None:
    """The product's recovery policy, attached by the run's context (None: defaults)."""
    return getattr(subscription, "_recovery_policy", None)


def retry_schedule_for(subscription: Subscription) -> list[int]:
    """The product's retry days if it set them, else the creator's."""
    policy = _policy(subscription)
    if policy is not None and policy.retry_schedule:
        return list(policy.retry_schedule)
    return list(subscription.creator.retry_schedule)


def _retry_date(subscription: Subscription, period_start: date, index: int) -> date | None:
    """The day of retry number `index` (0-based) of the period starting `period_start`;
    None once the product's (or creator's) schedule is used up or the retry would fall in
    the next period (the renewal job charges that period instead)."""
    days = retry_schedule_for(subscription)
    if index >= len(days):
        return None
    day = period_start + timedelta(days=days[index])
    if day >= period_end_for(subscription=subscription, period_start=period_start):
        return None
    return day


def _outcome(result: ChargeResult, today: date, give_up_on: date | None) -> ChargeOutcome:
    """A transient error is retried with the same key, but not past the day the next
    attempt is due: from then on it counts as a decline. A payment the processor is
    still processing (a bank debit) is not an error and is never given up: it stays open
    until the processor settles it (`payment_intent.*` webhook, or the next try reads it)."""
    if (
        result.outcome is ChargeOutcome.ERROR
        and give_up_on is not None
        and today >= give_up_on
        and result.details.get("status") != "processing"
    ):
        return ChargeOutcome.DECLINED
    return result.outcome


def _given_up(charge: Charge, result: ChargeResult, outcome: ChargeOutcome) -> None:
    """A transient error turned into a decline on the give-up day: the attempt's one
    `charge.failed` is written now (none was written for each try)."""
    if result.outcome is ChargeOutcome.ERROR and outcome is ChargeOutcome.DECLINED:
        charge_failed_record(charge=charge, result=result)


def _record(subscription: Subscription, events: list[transitions.Event]) -> None:
    """Inside the batch's `events_batched()`: collected, then bulk-inserted."""
    transition_record(subscription=subscription, events=events)


def _stop_retries_if_hard(subscription: Subscription, result: ChargeResult) -> None:
    """A hard decline (stolen card, closed account, "do not try again") stops automatic
    charges on this method; the retry days still pass, without a charge, so the link and
    the final action keep the schedule's dates."""
    if is_hard_decline(result.details):
        _record(
            subscription,
            transitions.retries_stopped(subscription, code=decline_code(result.details)),
        )


def _after_last_retry(subscription: Subscription) -> None:
    """No retry left for the unpaid period: the product's final action."""
    policy = _policy(subscription)
    if policy is not None and policy.final_action == RecoveryPolicy.FinalAction.CANCEL:
        _record(
            subscription,
            transitions.cancelled(
                subscription, actor=Actor.system(), reason="unpaid", at=timezone.now()
            ),
        )


def _delay(subscription: Subscription, period_start: date) -> None:
    """The charge for the period starting `period_start` was declined (or not made on a
    refused method): DELAYED, retries scheduled, then the final action if none is left."""
    policy = _policy(subscription)
    events = transitions.declined(
        subscription,
        period_start=period_start,
        next_retry_date=_retry_date(subscription, period_start, 0),
        access=policy.access_while_retrying if policy is not None else True,
    )
    _record(subscription, events)
    if subscription.next_retry_date is None:
        _after_last_retry(subscription)


def renewal_spec(subscription: Subscription, ctx: _Context) -> ChargeSpec | None:
    """The renewal charge of the period starting `next_charge_date`, at the price of a
    plan switch scheduled for it (applied first); none on a method a hard decline
    refused: the period starts unpaid instead."""
    assert subscription.next_charge_date is not None
    if subscription.scheduled_plan_id is not None:
        plan = ctx.plan(subscription.scheduled_plan_id)
        data = {"when": "renewal", "effective_on": subscription.next_charge_date.isoformat()}
        _record(subscription, transitions.plan_changed(subscription, plan=plan, data=data))
    if subscription.retries_stopped_code:
        # A hard decline is waiting for a new method: the new period starts unpaid
        # (the ended one counted) without charging the method the issuer refused.
        _delay(subscription, subscription.next_charge_date)
        return None
    return ChargeSpec(Charge.Kind.RENEWAL, subscription.next_charge_date, 0)


def _scheduled_pause_apply(subscription: Subscription) -> bool:
    """A pause waiting for this due date (subscriptions/pause_rules.py) begins instead of
    the renewal charge. True when it did."""
    starts_on = subscription.pause_starts_on
    if (
        starts_on is None
        or subscription.status != Status.ACTIVE
        or subscription.next_charge_date is None
        or subscription.next_charge_date < starts_on
    ):
        return False
    until_day = pause_rules.access_until(
        _policy(subscription), paused_on=starts_on, paid_through=subscription.paid_through
    )
    events = transitions.paused(
        subscription,
        on=starts_on,
        resumes_on=subscription.resumes_on,
        access_until=until_day,
        data={"when": pause_rules.PauseWhen.PERIOD_END.value, "actor": "system"},
    )
    _record(subscription, events)
    return True


class RenewalRules:
    """ACTIVE or DELAYED rows whose `next_charge_date` arrived in the creator's time zone."""

    date_field = "next_charge_date"

    def due(self, ctx: _Context) -> QuerySet[Subscription]:
        return Subscription.objects.filter(status__in=[Status.ACTIVE, Status.DELAYED]).filter(
            _due_on_local_date("next_charge_date", ctx)
        )

    def prepare(self, subscription: Subscription, ctx: _Context) -> ChargeSpec | None:
        assert subscription.next_charge_date is not None
        if (
            subscription.status == Status.DELAYED
            and subscription.unpaid_recurrences + 1 >= UNPAID_RECURRENCES_LIMIT
        ):
            # The period before this due date ended unpaid: the fifth in a row.
            _record(subscription, transitions.cancelled_unpaid(subscription, at=ctx.now))
            return None
        if _scheduled_pause_apply(subscription):
            return None
        return renewal_spec(subscription, ctx)

    def apply(
        self, subscription: Subscription, charge: Charge, result: ChargeResult, ctx: _Context
    ) -> None:
        outcome = result.outcome
        if outcome is ChargeOutcome.ERROR:  # only then does the give-up day matter
            give_up_on = _retry_date(subscription, charge.period_start, 0) or period_end_for(
                subscription=subscription, period_start=charge.period_start
            )
            outcome = _outcome(result, ctx.today(subscription), give_up_on)
            _given_up(charge, result, outcome)
        if outcome is ChargeOutcome.SUCCEEDED:
            _record(subscription, transitions.renewed(subscription, charge=charge))
        elif outcome is ChargeOutcome.DECLINED:
            _stop_retries_if_hard(subscription, result)
            _delay(subscription, charge.period_start)  # counts an unpaid period if DELAYED


class RetryRules:
    """DELAYED rows whose `next_retry_date` arrived: charge the unpaid period again."""

    date_field = "next_retry_date"

    def due(self, ctx: _Context) -> QuerySet[Subscription]:
        return Subscription.objects.filter(status=Status.DELAYED).filter(
            _due_on_local_date("next_retry_date", ctx)
        )

    def prepare(self, subscription: Subscription, ctx: _Context) -> ChargeSpec | None:
        assert subscription.next_charge_date is not None
        if ctx.today(subscription) >= subscription.next_charge_date:
            return None  # the period has ended; the renewal job moves on to the next one
        if subscription.retries_stopped_code:
            # Hard decline: this retry day passes without a charge.
            _retry_declined(subscription, _unpaid_period_start(subscription))
            return None
        return ChargeSpec(
            Charge.Kind.RETRY, _unpaid_period_start(subscription), subscription.retry_attempt + 1
        )

    def apply(
        self, subscription: Subscription, charge: Charge, result: ChargeResult, ctx: _Context
    ) -> None:
        outcome = result.outcome
        if outcome is ChargeOutcome.ERROR:  # only then does the give-up day matter
            give_up_on = _retry_date(
                subscription, charge.period_start, subscription.retry_attempt + 1
            ) or _last_retry_give_up(subscription, charge)
            outcome = _outcome(result, ctx.today(subscription), give_up_on)
            _given_up(charge, result, outcome)
        if outcome is ChargeOutcome.SUCCEEDED:
            _record(subscription, transitions.renewed(subscription, charge=charge))
        elif outcome is ChargeOutcome.DECLINED:
            _stop_retries_if_hard(subscription, result)
            _retry_declined(subscription, charge.period_start)


def _last_retry_give_up(subscription: Subscription, charge: Charge) -> date:
    """The last retry keeps trying through its own day; the next day it counts as
    declined (so its `charge.failed` is written and the final action runs), at the
    latest when the period ends."""
    period_end = period_end_for(subscription=subscription, period_start=charge.period_start)
    if subscription.next_retry_date is None:
        return period_end
    return min(subscription.next_retry_date + timedelta(days=1), period_end)


def _retry_declined(subscription: Subscription, period_start: date) -> None:
    next_retry = _retry_date(subscription, period_start, subscription.retry_attempt + 1)
    _record(subscription, transitions.retry_declined(subscription, next_retry_date=next_retry))
    if subscription.next_retry_date is None:
        _after_last_retry(subscription)


class ResumeRules:
    """PAUSED rows whose `resumes_on` arrived in the creator's time zone: ACTIVE again
    with a new period from `resumes_on`, charged in the same run as the renewal of that
    period (same key, so the renewal job never charges it again), unless the paid
    period is not over yet (subscriptions/pause_rules.py)."""

    date_field = "resumes_on"

    def due(self, ctx: _Context) -> QuerySet[Subscription]:
        return Subscription.objects.filter(status=Status.PAUSED).filter(
            _due_on_local_date("resumes_on", ctx)
        )

    def prepare(self, subscription: Subscription, ctx: _Context) -> ChargeSpec | None:
        assert subscription.resumes_on is not None
        outcome = pause_rules.resume_outcome(
            how=pause_rules.ResumeHow.NEW_PERIOD,
            paid_through=subscription.paid_through,
            anchor=subscription.billing_anchor,
            period=subscription.plan.period,
            on=subscription.resumes_on,
        )
        _record(
            subscription,
            transitions.resumed(subscription, outcome=outcome, data={"actor": "system"}),
        )
        return renewal_spec(subscription, ctx) if outcome.charge_now else None

    def apply(
        self, subscription: Subscription, charge: Charge, result: ChargeResult, ctx: _Context
    ) -> None:
        RenewalRules().apply(subscription, charge, result, ctx)


class FirstChargeRules:
    """STARTED sales whose first charge met a transient error (or whose process died
    mid-call): retried with the same key until the retry schedule runs out, then INACTIVE."""

    date_field = "created_at"

    def due(self, ctx: _Context) -> QuerySet[Subscription]:
        return Subscription.objects.filter(
            status=Status.STARTED, created_at__lte=ctx.now - FIRST_CHARGE_GRACE
        )

    def prepare(self, subscription: Subscription, ctx: _Context) -> ChargeSpec | None:
        last_retry_day = subscription.billing_anchor + timedelta(
            days=retry_schedule_for(subscription)[-1]
        )
        if ctx.today(subscription) > last_retry_day:
            events = transitions.inactivated(subscription, reason="first_charge_unconfirmed")
            _record(subscription, events)
            return None
        return ChargeSpec(Charge.Kind.FIRST, subscription.billing_anchor, 0)

    def apply(
        self, subscription: Subscription, charge: Charge, result: ChargeResult, ctx: _Context
    ) -> None:
        _record(
            subscription,
            first_charge_outcome_apply(subscription=subscription, charge=charge, result=result),
        )


# --- the engine --------------------------------------------------------------------


@dataclass
class _Claimed:
    charge: Charge
    snapshot: tuple[Any, ...]


@dataclass
class RunStats:
    claimed: int = 0
    charged: int = 0
    changed_without_charge: int = 0
    by_outcome: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def run(
    rules: Rules,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    only: list[int] | None = None,
) -> RunStats:
    """Work through every due row once, batch by batch, in (due date, id) order; with
    `only`, just those subscriptions (if due), without waiting for a backoff."""
    ctx = _Context(now or timezone.now(), only=only)
    stats = RunStats()
    cursor: tuple[Any, int] | None = None
    while True:
        with transaction.atomic():
            batch = _claim(rules, ctx, cursor, batch_size)
            if not batch:
                break
            last = batch[-1]
            cursor = (getattr(last, rules.date_field), last.pk)
            claimed = _prepare_batch(rules, ctx, batch, stats)
        stats.claimed += len(batch)
        answers = [(item, _call_gateway(item.charge, ctx)) for item in claimed]
        if answers:
            _settle_batch(rules, ctx, answers, stats)
        if only is not None:
            break  # one pass: a row just paid is not charged again for its next period
    return stats


def _claim(
    rules: Rules, ctx: _Context, cursor: tuple[Any, int] | None, batch_size: int
) -> list[Subscription]:
    due = rules.due(ctx)
    if ctx.only is not None:
        due = due.filter(pk__in=ctx.only)
    rows = (
        due.select_for_update(of=("self",), skip_locked=True)
        .select_related("subscriber")
        .order_by(rules.date_field, "pk")
    )
    if cursor is not None:
        # Keyset paging: rows this run skipped (in flight, transient error) stay behind.
        day, pk = cursor
        rows = rows.filter(
            Q(**{f"{rules.date_field}__gt": day}) | Q(**{rules.date_field: day, "pk__gt": pk}),
            **{f"{rules.date_field}__gte": day},  # the same, as a bound of the index scan
        )
    batch = list(rows[:batch_size])
    ctx.attach(batch)
    return batch


def _prepare_batch(
    rules: Rules, ctx: _Context, batch: list[Subscription], stats: RunStats
) -> list[_Claimed]:
    in_flight = set(
        Charge.objects.filter(
            subscription_id__in=[s.pk for s in batch],
            status=Charge.Status.PENDING,
            updated_at__gt=ctx.now - PENDING_LEASE,
        ).values_list("subscription_id", flat=True)
    )
    specs: list[tuple[Subscription, ChargeSpec]] = []
    changed: list[tuple[Subscription, tuple[Any, ...]]] = []
    without_charge = 0
    with events_batched():
        for subscription in batch:
            if subscription.pk in in_flight:
                continue
            before = _snapshot(subscription)
            spec = rules.prepare(subscription, ctx)
            if _snapshot(subscription) != before:
                # Saved before the charge opens (a scheduled plan switch is charged at
                # the new price right away; every other change charges nothing).
                changed.append((subscription, before))
                without_charge += spec is None
            if spec is not None:
                specs.append((subscription, spec))
        _save_subscriptions(changed, ctx.now)
    stats.changed_without_charge += without_charge
    return _open_charges(specs, ctx)


def _open_charges(specs: list[tuple[Subscription, ChargeSpec]], ctx: _Context) -> list[_Claimed]:
    """Commit a pending charge per spec; a `failed` or abandoned `pending` charge with
    the same key is taken over instead, so the gateway sees the same key again."""
    built = [
        charge_build(
            subscription=subscription,
            kind=spec.kind,
            period_start=spec.period_start,
            attempt=spec.attempt,
        )
        for subscription, spec in specs
    ]
    existing = {
        c.idempotency_key: c
        for c in Charge.objects.filter(idempotency_key__in=[c.idempotency_key for c in built])
    }
    new: list[Charge] = []
    taken_over: list[Charge] = []
    claimed: list[_Claimed] = []
    for charge in built:
        subscription = charge.subscription
        previous = existing.get(charge.idempotency_key)
        if previous is None:
            new.append(charge)
        elif previous.status == Charge.Status.FAILED and not transient_try_due(previous, ctx.now):
            continue  # backing off after a transient error; a later run tries again
        elif previous.status in (Charge.Status.FAILED, Charge.Status.PENDING):
            previous.subscription = subscription
            previous.status = Charge.Status.PENDING
            taken_over.append(previous)
            charge = previous
        else:
            logger.warning(
                "charge %s is already %s but subscription %s is still due; skipped",
                previous.uuid,
                previous.status,
                subscription.uuid,
            )
            continue
        claimed.append(_Claimed(charge, _snapshot(subscription)))
    bulk_insert_rows(new)
    if taken_over:
        Charge.objects.filter(pk__in=[c.pk for c in taken_over]).update(
            status=Charge.Status.PENDING, updated_at=ctx.now
        )
    return claimed


def transient_try_due(charge: Charge, now: datetime) -> bool:
    """Whether a charge left `failed` by a transient error may be tried again now: the
    next try waits as long as the error has lasted (from the first try, `created_at`, to
    the last, `updated_at`), between TRANSIENT_BACKOFF_MIN and TRANSIENT_BACKOFF_MAX.
    *First try 12:00, errors at 12:00, 12:01, 12:02, 12:04, 12:08 … 12:32, 13:32, 14:32.*
    The give-up day still comes: the first try on or after it counts as the decline."""
    lasted = charge.updated_at - charge.created_at
    wait = min(max(lasted, TRANSIENT_BACKOFF_MIN), TRANSIENT_BACKOFF_MAX)
    return now >= charge.updated_at + wait


def _call_gateway(charge: Charge, ctx: _Context) -> ChargeResult:
    try:
        return charge_call_gateway(charge=charge, gateway=ctx.gateway(charge.subscription.creator))
    except Exception as exc:
        # One broken row must not stop the batch; treated as transient and retried.
        logger.exception("gateway call for charge %s crashed", charge.uuid)
        return ChargeResult(ChargeOutcome.ERROR, "", f"gateway call crashed: {exc!r}"[:500])


def _settle_batch(
    rules: Rules, ctx: _Context, answers: list[tuple[_Claimed, ChargeResult]], stats: RunStats
) -> None:
    with transaction.atomic():
        locked = _lock_current(ctx, [item.charge.subscription for item, _ in answers])
        fresh_charges = {
            pk: (status, reference)
            for pk, status, reference in Charge.objects.filter(
                pk__in=[item.charge.pk for item, _ in answers]
            ).values_list("pk", "status", "gateway_reference")
        }
        settled: list[Charge] = []
        changed: list[tuple[Subscription, tuple[Any, ...]]] = []
        with events_batched():
            for item, result in answers:
                subscription = locked[item.charge.subscription_id]
                charge = item.charge
                charge.status, charge.gateway_reference = fresh_charges[charge.pk]
                charge.subscription = subscription
                if not charge_result_apply(charge=charge, result=result):
                    continue  # another run settled it (its lease had run out)
                settled.append(charge)
                stats.by_outcome[result.outcome.value] += 1
                before = _snapshot(subscription)
                if before != item.snapshot:
                    logger.warning(
                        "subscription %s changed while charge %s was out; not advanced",
                        subscription.uuid,
                        charge.uuid,
                    )
                    continue
                rules.apply(subscription, charge, result, ctx)
                if _snapshot(subscription) != before:
                    changed.append((subscription, before))
            bulk_update_rows(settled, _CHARGE_SETTLE_FIELDS)
            _save_subscriptions(changed, ctx.now)
        stats.charged += len(settled)


_SUBSCRIPTION_COLUMNS = [f.attname for f in Subscription._meta.concrete_fields]
_SUBSCRIPTION_PK = _SUBSCRIPTION_COLUMNS.index("id")


def _lock_current(ctx: _Context, claimed: list[Subscription]) -> dict[int, Subscription]:
    """Lock the claimed rows again and return each as it is now.

    A row still equal to the claimed instance keeps that instance (its plan, creator and
    subscriber attached); only a row someone changed meanwhile is rebuilt from the
    database. Reading tuples rather than instances: at 100,000 rows building the models
    again cost more than the locking query itself.
    """
    by_pk = {subscription.pk: subscription for subscription in claimed}
    rows = (
        Subscription.objects.select_for_update()
        .filter(pk__in=sorted(by_pk))
        .order_by("pk")
        .values_list(*_SUBSCRIPTION_COLUMNS)
    )
    locked: dict[int, Subscription] = {}
    rebuilt: list[Subscription] = []
    for values in rows:
        subscription = by_pk[values[_SUBSCRIPTION_PK]]
        if tuple(getattr(subscription, name) for name in _SUBSCRIPTION_COLUMNS) != values:
            subscription = Subscription.from_db(
                Subscription.objects.db, _SUBSCRIPTION_COLUMNS, values
            )
            rebuilt.append(subscription)
        locked[subscription.pk] = subscription
    ctx.attach(rebuilt)
    return locked


def _save_subscriptions(changed: list[tuple[Subscription, tuple[Any, ...]]], now: datetime) -> None:
    """bulk_update only the fields some row of the batch actually changed."""
    if not changed:
        return
    fields: set[str] = set()
    for subscription, before in changed:
        fields.update(
            name
            for name, old in zip(transitions.FIELDS, before, strict=True)
            if getattr(subscription, name) != old
        )
        subscription.updated_at = now
    rows = [subscription for subscription, _ in changed]
    bulk_update_rows(rows, [*sorted(fields), "updated_at"])


def renewals_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> RunStats:
    return run(RenewalRules(), now=now, batch_size=batch_size)


def retries_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> RunStats:
    return run(RetryRules(), now=now, batch_size=batch_size)


def renewal_run_for(subscription_id: int) -> RunStats:
    """Charge one subscription's due renewal now (a resume that starts a new period)
    with the renewal job's code and key. It runs as the jobs do, outside any tenant's
    scope: the engine's queries are written across creators, and `only` bounds them to
    this one row."""
    with tenant_context(None):
        return run(RenewalRules(), only=[subscription_id])


def resumes_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> RunStats:
    return run(ResumeRules(), now=now, batch_size=batch_size)


def first_charges_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> RunStats:
    return run(FirstChargeRules(), now=now, batch_size=batch_size)


RULES_BY_KIND: dict[str, type[RenewalRules] | type[RetryRules] | type[FirstChargeRules]] = {
    Charge.Kind.RENEWAL: RenewalRules,
    Charge.Kind.RETRY: RetryRules,
    Charge.Kind.FIRST: FirstChargeRules,
}


def charge_settle_now(*, charge_id: int) -> bool:
    """Settle an open charge at once (the processor's webhook said its payment finished):
    its job runs for that one subscription, reads the payment's status with the same key
    and applies it exactly as a synchronous answer. False when the charge is not one the
    billing jobs own (a payment-page or reactivation charge) or is settled already."""
    charge = (
        Charge.objects.filter(pk=charge_id)
        .only("subscription_id", "kind", "status", "idempotency_key")
        .first()
    )
    if charge is None or charge.status not in (Charge.Status.FAILED, Charge.Status.PENDING):
        return False
    if PAGE_KEY_MARK in charge.idempotency_key:
        return False  # the payment page's own charge: its page reads the answer
    rules = RULES_BY_KIND.get(charge.kind)
    if rules is None:
        return False
    stats = run(rules(), only=[charge.subscription_id])
    return stats.charged > 0
