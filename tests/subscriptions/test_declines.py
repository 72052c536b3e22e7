"""Decline-aware retries (SPEC §4.6): hard declines stop automatic charges, soft ones
follow the product's schedule, transient errors write one `charge.failed` per
scheduled attempt, and the product's final action runs after the last retry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from subscriptions import renewals
from subscriptions.declines import DeclineClass, decline_class
from subscriptions.models import Charge, RecoveryPolicy, Status, Subscription
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

DUE = date(2026, 2, 10)


def _at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # noon in São Paulo


def _due(payment_method: str) -> Subscription:
    return SubscriptionFactory(
        billing_anchor=date(2026, 1, 10),
        started_at=_noon(date(2026, 1, 10)),
        next_charge_date=DUE,
        paid_through=DUE,
        payment_method=payment_method,
    )


def _bill_days(first: date, last: date) -> None:
    day = first
    while day <= last:
        with _at(_noon(day)):
            renewals.renewals_run()
            renewals.retries_run()
        day += timedelta(days=1)


def _failed_events(sub: Subscription) -> list[dict]:
    return [e.data for e in sub.events.filter(type="charge.failed").order_by("occurred_at", "id")]


@pytest.mark.parametrize(
    ("method", "code", "klass"),
    [
        ("pm_sandbox_stolen_card", "stolen_card", DeclineClass.STOLEN_OR_LOST),
        ("pm_sandbox_lost_card", "lost_card", DeclineClass.STOLEN_OR_LOST),
        ("pm_sandbox_invalid_account", "invalid_account", DeclineClass.INVALID_ACCOUNT),
        ("pm_sandbox_do_not_try_again", "do_not_try_again", DeclineClass.DO_NOT_RETRY),
    ],
)
def test_a_hard_decline_stops_automatic_retries_until_the_method_changes(method, code, klass):
    assert decline_class({"decline_code": code}) is klass
    sub = _due(method)
    _bill_days(DUE, date(2026, 3, 9))

    sub.refresh_from_db()
    assert sub.status == Status.DELAYED
    assert sub.retries_stopped_code == code
    # One charge, on the due date; the retry days (11, 13, 15) passed without one.
    assert list(Charge.objects.filter(subscription=sub).values_list("kind", "status")) == [
        ("renewal", "declined")
    ]
    assert [(e["attempt"], e["decline_code"]) for e in _failed_events(sub)] == [(1, code)]

    # The next period is not charged on the refused method either.
    _bill_days(date(2026, 3, 10), date(2026, 3, 10))
    sub.refresh_from_db()
    assert Charge.objects.filter(subscription=sub).count() == 1
    assert (sub.unpaid_recurrences, sub.next_charge_date) == (1, date(2026, 4, 10))


def test_a_soft_decline_follows_the_schedule():
    sub = _due("pm_sandbox_insufficient_funds")
    _bill_days(DUE, date(2026, 3, 9))

    sub.refresh_from_db()
    assert sub.retries_stopped_code == ""
    charges = Charge.objects.filter(subscription=sub).order_by("period_start", "attempt")
    assert [(c.kind, c.attempt, c.status) for c in charges] == [
        ("renewal", 0, "declined"),
        ("retry", 1, "declined"),
        ("retry", 2, "declined"),
        ("retry", 3, "declined"),
    ]
    assert [(e["attempt"], e["decline_code"]) for e in _failed_events(sub)] == [
        (1, "insufficient_funds"),
        (2, "insufficient_funds"),
        (3, "insufficient_funds"),
        (4, "insufficient_funds"),
    ]


def test_the_product_schedule_replaces_the_creators():
    sub = _due("pm_sandbox_declined")
    RecoveryPolicy.objects.create(
        creator=sub.creator, product=sub.plan.product, retry_schedule=[2, 7]
    )
    _bill_days(DUE, date(2026, 3, 9))

    charges = Charge.objects.filter(subscription=sub).order_by("period_start", "attempt")
    assert [c.created_at.date() for c in charges] == [
        date(2026, 2, 10),
        date(2026, 2, 12),
        date(2026, 2, 17),
    ]


def test_final_action_cancel_runs_after_the_last_retry():
    sub = _due("pm_sandbox_declined")
    RecoveryPolicy.objects.create(
        creator=sub.creator,
        product=sub.plan.product,
        retry_schedule=[1, 3],
        final_action=RecoveryPolicy.FinalAction.CANCEL,
    )
    _bill_days(DUE, date(2026, 2, 12))
    sub.refresh_from_db()
    assert (sub.status, sub.next_retry_date) == (Status.DELAYED, date(2026, 2, 13))

    _bill_days(date(2026, 2, 13), date(2026, 2, 13))
    sub.refresh_from_db()
    assert sub.status == Status.CANCELLED_BY_ADMIN
    assert (sub.cancellation_source, sub.cancellation_reason) == ("admin", "unpaid")
    assert sub.next_charge_date is None


def test_default_final_action_leaves_the_subscription_late():
    sub = _due("pm_sandbox_declined")
    _bill_days(DUE, date(2026, 3, 9))
    sub.refresh_from_db()
    assert (sub.status, sub.next_retry_date) == (Status.DELAYED, None)


def test_transient_errors_write_one_charge_failed_per_scheduled_attempt():
    """The gateway errs for a whole month; the job runs every 30 minutes."""
    sub = _due("pm_sandbox_error")
    moment = _noon(DUE)
    tries = 0
    while moment < _noon(date(2026, 3, 9)):
        with _at(moment):
            renewals.renewals_run()
            renewals.retries_run()
        tries += 1
        moment += timedelta(minutes=30)
        if tries == 16:  # eight hours of errors on the due date: nothing recorded per try
            assert _failed_events(sub) == []

    assert tries > 1000
    events = _failed_events(sub)
    # Due date, then the retries of days 1, 3 and 5: four scheduled attempts.
    assert [(e["attempt"], e["outcome"]) for e in events] == [
        (1, "error"),
        (2, "error"),
        (3, "error"),
        (4, "error"),
    ]
    assert Charge.objects.filter(subscription=sub).count() == 4


def test_a_gateway_answering_500_for_an_hour_is_tried_with_backoff_not_every_run(monkeypatch):
    """Runs every 30 seconds for an hour on the due date; the gateway errs throughout."""
    sub = _due("pm_sandbox_error")
    calls: list[datetime] = []
    real_call = renewals.charge_call_gateway

    def counting_call(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(datetime.now(UTC))
        return real_call(**kwargs)

    monkeypatch.setattr(renewals, "charge_call_gateway", counting_call)
    moment = _noon(DUE)
    runs = 0
    while moment < _noon(DUE) + timedelta(hours=1):
        with _at(moment):
            renewals.renewals_run()
            renewals.retries_run()
        runs += 1
        moment += timedelta(seconds=30)

    assert runs == 120
    # 0, 1, 2, 4, 8, 16 and 32 minutes after the first error: seven tries, not 120.
    minutes = [round((c - calls[0]).total_seconds() / 60) for c in calls]
    assert minutes == [0, 1, 2, 4, 8, 16, 32]
    assert _failed_events(sub) == []  # one event per scheduled attempt, none per try
    [charge] = Charge.objects.filter(subscription=sub)
    assert charge.status == Charge.Status.FAILED
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE and sub.next_charge_date == DUE
