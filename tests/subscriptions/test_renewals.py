"""Renewals and late payments (SPEC §4.3) against PostgreSQL, with time travel."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from subscriptions import renewals
from subscriptions.gateways import ChargeResult, register_gateway
from subscriptions.gateways.sandbox import SandboxGateway
from subscriptions.models import CancellationSource, Charge, Status, Subscription
from subscriptions.services import SubscriberData, subscription_create
from tests.factories import ChargeFactory, CreatorFactory, PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _at(day: date, hour_utc: int = 15) -> time_machine.travel:
    # 15:00 UTC is noon in São Paulo, the factories' creator time zone.
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC), tick=False
    )


def _due(*, anchor: date, due: date, payment_method: str = "pm_sandbox_ok", **kw) -> Subscription:
    return SubscriptionFactory(
        billing_anchor=anchor,
        started_at=datetime(anchor.year, anchor.month, anchor.day, 15, tzinfo=UTC),
        next_charge_date=due,
        paid_through=due,
        payment_method=payment_method,
        **kw,
    )


def _run_billing() -> None:
    renewals.renewals_run()
    renewals.retries_run()


def _set_method(subscription: Subscription, method: str) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(payment_method=method)


def test_renewal_run_twice_charges_once_and_moves_one_period_from_the_anchor():
    sub = _due(anchor=date(2026, 1, 31), due=date(2026, 2, 28))
    with _at(date(2026, 2, 28)):
        first = renewals.renewals_run()
        second = renewals.renewals_run()
    assert (first.claimed, first.charged, second.claimed) == (1, 1, 0)
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
    assert sub.paid_through == sub.next_charge_date == date(2026, 3, 31)  # back on the 31st
    assert sub.recurrence == 2
    charge = Charge.objects.get(subscription=sub)
    assert (charge.kind, charge.status, charge.amount) == ("renewal", "succeeded", Decimal("49.90"))
    assert (charge.period_start, charge.period_end) == (date(2026, 2, 28), date(2026, 3, 31))
    assert list(sub.events.values_list("type", flat=True)) == [
        "charge.succeeded",
        "subscription.renewed",
    ]


def test_due_date_is_the_creators_local_date():
    sub = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10))
    # 02:00 UTC on the 10th is still the 9th in São Paulo.
    with _at(date(2026, 2, 10), hour_utc=2):
        assert renewals.renewals_run().claimed == 0
    with _at(date(2026, 2, 10), hour_utc=4):
        assert renewals.renewals_run().charged == 1
    sub.refresh_from_db()
    assert sub.next_charge_date == date(2026, 3, 10)


def test_creators_on_different_local_days_are_each_charged_on_their_own_date():
    # 02:00 UTC on Feb 10 is the 9th in São Paulo and already the 10th in Tokyo.
    tokyo = PlanFactory(creator=CreatorFactory(time_zone="Asia/Tokyo"))
    tokyo_due = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10), plan=tokyo)
    sao_paulo_due = _due(anchor=date(2026, 1, 9), due=date(2026, 2, 9))
    sao_paulo_not_yet = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10))
    with _at(date(2026, 2, 10), hour_utc=2):
        assert renewals.renewals_run(batch_size=1).charged == 2
    charged = set(Charge.objects.values_list("subscription_id", flat=True))
    assert charged == {tokyo_due.pk, sao_paulo_due.pk}
    assert sao_paulo_not_yet.pk not in charged


def test_declines_go_delayed_retry_and_cancel_after_five_unpaid_recurrences():
    sub = _due(
        anchor=date(2026, 1, 10), due=date(2026, 2, 10), payment_method="pm_sandbox_declined"
    )
    seen: dict[date, tuple[str, int, int, date | None]] = {}
    day = date(2026, 2, 10)
    while day <= date(2026, 7, 20):
        with _at(day):
            _run_billing()
        sub.refresh_from_db()
        seen[day] = (sub.status, sub.unpaid_recurrences, sub.retry_attempt, sub.next_retry_date)
        day += timedelta(days=1)

    assert seen[date(2026, 2, 10)] == (Status.DELAYED, 0, 0, date(2026, 2, 11))
    assert seen[date(2026, 2, 11)] == (Status.DELAYED, 0, 1, date(2026, 2, 13))
    assert seen[date(2026, 2, 15)] == (Status.DELAYED, 0, 3, None)
    assert seen[date(2026, 3, 10)] == (Status.DELAYED, 1, 0, date(2026, 3, 11))
    assert seen[date(2026, 6, 10)] == (Status.DELAYED, 4, 0, date(2026, 6, 11))
    assert seen[date(2026, 7, 9)][:2] == (Status.DELAYED, 4)
    assert seen[date(2026, 7, 10)][:2] == (Status.CANCELLED_BY_ADMIN, 5)

    assert sub.cancellation_source == CancellationSource.ADMIN
    assert sub.cancellation_reason == "unpaid"
    assert sub.next_charge_date is None and sub.next_retry_date is None
    assert sub.paid_through == date(2026, 2, 10)  # never paid after that
    # Five periods (Feb to Jun), each a renewal plus three retries; nothing charged in July.
    charges = Charge.objects.filter(subscription=sub)
    assert charges.count() == 20
    assert set(charges.values_list("status", flat=True)) == {"declined"}
    assert not charges.filter(period_start__gte=date(2026, 7, 10)).exists()
    retry_days = sorted(
        charges.filter(period_start=date(2026, 2, 10), kind="retry").values_list(
            "created_at__date", flat=True
        )
    )
    assert retry_days == [date(2026, 2, 11), date(2026, 2, 13), date(2026, 2, 15)]
    cancel = sub.events.get(type="subscription.status_changed", data__to="CANCELLED_BY_ADMIN")
    assert (cancel.data["source"], cancel.data["reason"]) == ("admin", "unpaid")


def test_successful_retry_returns_to_active_on_the_original_anchor():
    sub = _due(
        anchor=date(2026, 1, 31), due=date(2026, 2, 28), payment_method="pm_sandbox_declined"
    )
    with _at(date(2026, 2, 28)):
        _run_billing()
    sub.refresh_from_db()
    assert (sub.status, sub.next_retry_date) == (Status.DELAYED, date(2026, 3, 1))
    assert sub.paid_through == date(2026, 2, 28)  # access kept until then

    _set_method(sub, "pm_sandbox_ok")
    with _at(date(2026, 3, 1)):
        _run_billing()
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
    assert sub.billing_anchor == date(2026, 1, 31)
    assert sub.paid_through == sub.next_charge_date == date(2026, 3, 31)
    assert (sub.retry_attempt, sub.next_retry_date, sub.unpaid_recurrences) == (0, None, 0)
    paid = Charge.objects.get(subscription=sub, status="succeeded")
    assert (paid.kind, paid.attempt, paid.period_start) == ("retry", 1, date(2026, 2, 28))
    statuses = [
        (e.data["from"], e.data["to"])
        for e in sub.events.filter(type="subscription.status_changed")
    ]
    assert statuses == [("ACTIVE", "DELAYED"), ("DELAYED", "ACTIVE")]


def test_transient_error_is_retried_with_the_same_key_after_a_backoff():
    sub = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10), payment_method="pm_sandbox_error")
    with _at(date(2026, 2, 10)):
        renewals.renewals_run()
        renewals.renewals_run()
    sub.refresh_from_db()
    assert (sub.status, sub.next_charge_date) == (Status.ACTIVE, date(2026, 2, 10))
    failed = Charge.objects.get(subscription=sub)
    assert failed.status == "failed"

    _set_method(sub, "pm_sandbox_ok")
    with _at(date(2026, 2, 10)):
        renewals.renewals_run()  # backing off: not tried again at once
    assert Charge.objects.get(subscription=sub).status == "failed"
    with time_machine.travel(datetime(2026, 2, 10, 15, 1, tzinfo=UTC), tick=False):
        renewals.renewals_run()  # a minute later
    paid = Charge.objects.get(subscription=sub)
    assert (paid.pk, paid.idempotency_key, paid.status) == (
        failed.pk,
        failed.idempotency_key,
        "succeeded",
    )
    sub.refresh_from_db()
    assert sub.next_charge_date == date(2026, 3, 10)


def test_transient_error_until_the_first_retry_day_counts_as_a_decline():
    sub = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10), payment_method="pm_sandbox_error")
    with _at(date(2026, 2, 10)):
        renewals.renewals_run()
    with _at(date(2026, 2, 11)):
        renewals.renewals_run()
    sub.refresh_from_db()
    assert (sub.status, sub.next_retry_date) == (Status.DELAYED, date(2026, 2, 11))
    assert Charge.objects.get(subscription=sub).status == "failed"


def test_max_cycles_paid_ends_the_subscription_as_overdue():
    plan = PlanFactory(max_cycles=3)
    sub = _due(anchor=date(2026, 1, 10), due=date(2026, 3, 10), plan=plan, recurrence=2)
    with _at(date(2026, 3, 10)):
        _run_billing()
    sub.refresh_from_db()
    assert sub.status == Status.OVERDUE
    assert sub.recurrence == 3
    assert sub.next_charge_date is None
    assert sub.paid_through == date(2026, 4, 10)
    with _at(date(2026, 4, 10)):
        assert renewals.renewals_run().claimed == 0


def test_imports_never_charge_retroactively():
    plan = PlanFactory()
    with _at(date(2026, 5, 20)):
        sub = subscription_create(
            creator=plan.creator,
            plan=plan,
            subscriber=SubscriberData(email="old@example.com"),
            payment_method="pm_sandbox_ok",
            started_at=datetime(2025, 1, 31, 15, tzinfo=UTC),
        )
        _run_billing()
    assert not Charge.objects.filter(subscription=sub).exists()
    with _at(date(2026, 5, 31)):
        _run_billing()
    charge = Charge.objects.get(subscription=sub)
    assert (charge.kind, charge.period_start) == ("renewal", date(2026, 5, 31))


def test_pending_charge_in_flight_is_left_alone_and_abandoned_one_taken_over():
    sub = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10))
    with _at(date(2026, 2, 10)):
        key = f"sub_{sub.uuid.hex}_2026-02-10_a0"
        pending = ChargeFactory(
            subscription=sub,
            status="pending",
            kind="renewal",
            period_start=date(2026, 2, 10),
            idempotency_key=key,
        )
        assert renewals.renewals_run().charged == 0
    with _at(date(2026, 2, 10), hour_utc=16):  # an hour later: the lease ran out
        assert renewals.renewals_run().charged == 1
    pending.refresh_from_db()
    assert pending.status == "succeeded"
    assert Charge.objects.filter(subscription=sub).count() == 1


def test_customer_cancel_while_charge_was_out_is_not_undone():
    sub = _due(anchor=date(2026, 1, 10), due=date(2026, 2, 10))

    class CancellingGateway(SandboxGateway):
        def charge(self, **kwargs) -> ChargeResult:  # type: ignore[no-untyped-def, override]
            Subscription.objects.filter(pk=sub.pk).update(
                status=Status.CANCELLED_BY_CUSTOMER, next_charge_date=None
            )
            return super().charge(**kwargs)

    register_gateway("cancelling", CancellingGateway)
    sub.creator.gateway = "cancelling"
    sub.creator.save()
    with _at(date(2026, 2, 10)):
        renewals.renewals_run()
    sub.refresh_from_db()
    assert sub.status == Status.CANCELLED_BY_CUSTOMER
    assert sub.next_charge_date is None
    assert Charge.objects.get(subscription=sub).status == "succeeded"  # the money is recorded


def test_first_charge_with_transient_error_is_retried_then_inactive():
    plan = PlanFactory()
    with _at(date(2026, 3, 1)):
        retried = subscription_create(
            creator=plan.creator,
            plan=plan,
            subscriber=SubscriberData(email="a@example.com"),
            payment_method="pm_sandbox_error",
        )
        gave_up = subscription_create(
            creator=plan.creator,
            plan=plan,
            subscriber=SubscriberData(email="b@example.com"),
            payment_method="pm_sandbox_error",
        )
    assert retried.status == gave_up.status == Status.STARTED
    _set_method(retried, "pm_sandbox_ok")
    with _at(date(2026, 3, 2)):
        renewals.first_charges_run()
    retried.refresh_from_db()
    assert (retried.status, retried.next_charge_date) == (Status.ACTIVE, date(2026, 4, 1))
    assert Charge.objects.get(subscription=retried).status == "succeeded"

    with _at(date(2026, 3, 6)):
        renewals.first_charges_run()
        gave_up.refresh_from_db()
        assert gave_up.status == Status.STARTED  # the last retry day is anchor + 5
    with _at(date(2026, 3, 7)):
        renewals.first_charges_run()
    gave_up.refresh_from_db()
    assert (gave_up.status, gave_up.next_charge_date) == (Status.INACTIVE, None)
    assert Charge.objects.filter(subscription=gave_up).count() == 1


class CountingGateway(SandboxGateway):
    """The processor as seen from outside: how often each idempotency key arrived."""

    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def charge(self, **kwargs) -> ChargeResult:  # type: ignore[no-untyped-def, override]
        with self.lock:
            self.calls[kwargs["idempotency_key"]] += 1
        time.sleep(0.005)  # keep the two runs overlapping
        return super().charge(**kwargs)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_runs_charge_each_subscription_once():
    register_gateway("counting", CountingGateway)
    CountingGateway.calls.clear()
    plan = PlanFactory(product__creator=CreatorFactory(gateway="counting"))
    subs = [_due(anchor=date(2026, 1, 10), due=date(2026, 2, 10), plan=plan) for _ in range(120)]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with _at(date(2026, 2, 10)):
                renewals.renewals_run(batch_size=10)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert len(CountingGateway.calls) == 120
    assert set(CountingGateway.calls.values()) == {1}
    assert Charge.objects.filter(status="succeeded").count() == 120
    assert set(
        Subscription.objects.filter(pk__in=[s.pk for s in subs]).values_list(
            "next_charge_date", "recurrence"
        )
    ) == {(date(2026, 3, 10), 2)}
