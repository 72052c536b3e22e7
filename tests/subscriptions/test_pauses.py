"""Pause and resume (subscriptions/pause_rules.py, subscriptions/pauses.py): the dates of
the worked examples, the resume job as a due-row job, the renewal and resume jobs run
together charging one period once, the access rule, the refusals and the API."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from core.actors import Actor
from core.errors import Conflict, DomainError
from subscriptions import renewals
from subscriptions.models import Charge, RecoveryPolicy, Status, SubscriptionEvent
from subscriptions.pause_rules import resume_outcome
from subscriptions.pauses import subscription_pause, subscription_resume
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory, actor_for

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 1, 10)
DUE = date(2026, 5, 10)
MEMBER = actor_for("seller")


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # noon in São Paulo


def _subscription(pm: str = "pm_sandbox_ok", period: str = "monthly", anchor: date = ANCHOR):  # type: ignore[no-untyped-def]
    plan = PlanFactory(product=ProductFactory(), price=Decimal("50.00"), period=period)
    return SubscriptionFactory(
        plan=plan,
        payment_method=pm,
        billing_anchor=anchor,
        started_at=noon(anchor),
        next_charge_date=DUE,
        paid_through=DUE,
        recurrence=4,
    )


def _types(sub) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        SubscriptionEvent.objects.filter(subscription=sub)
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_paused_now_for_two_periods_skips_two_renewals_and_resumes_with_a_charge():
    """The module's worked example: paid through May 10, paused April 20 for 2 periods."""
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        pause = subscription_pause(subscription=sub, actor=MEMBER, when="now", periods=2)
    assert (pause.starts_on, pause.resumes_on, pause.access_until) == (
        date(2026, 4, 20),
        date(2026, 7, 10),
        DUE,  # the product's default rule: access until the paid period ends
    )
    sub.refresh_from_db()
    assert (sub.status, sub.next_charge_date, sub.paid_through) == ("PAUSED", None, DUE)
    paused = SubscriptionEvent.objects.get(subscription=sub, type="subscription.paused")
    assert paused.data["access_until"] == "2026-05-10"
    assert paused.data["resumes_on"] == "2026-07-10"

    for day in (date(2026, 5, 10), date(2026, 6, 10), date(2026, 7, 9)):
        with time_machine.travel(noon(day), tick=False):
            renewals.renewals_run()
            renewals.retries_run()
            assert renewals.resumes_run().claimed == 0
    assert not Charge.objects.filter(subscription=sub).exists()

    with time_machine.travel(noon(date(2026, 7, 10)), tick=False):
        assert renewals.resumes_run().claimed == 1
    sub.refresh_from_db()
    assert sub.status == "ACTIVE"
    assert (sub.billing_anchor, sub.paid_through, sub.next_charge_date) == (
        ANCHOR,
        date(2026, 8, 10),
        date(2026, 8, 10),
    )
    [charge] = Charge.objects.filter(subscription=sub)
    assert (charge.kind, charge.status, charge.period_start) == (
        "renewal",
        "succeeded",
        date(2026, 7, 10),
    )
    resumed = SubscriptionEvent.objects.get(subscription=sub, type="subscription.resumed")
    assert resumed.data["how"] == "new_period" and resumed.data["actor"] == "system"
    assert _types(sub)[-1] == "subscription.renewed"


def test_a_pause_at_the_period_end_keeps_it_active_until_the_due_date_then_pauses_instead():
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        pause = subscription_pause(subscription=sub, actor=MEMBER, when="period_end")
    assert (pause.starts_on, pause.resumes_on, pause.access_until) == (DUE, None, DUE)
    sub.refresh_from_db()
    assert (sub.status, sub.pause_starts_on, sub.next_charge_date) == ("ACTIVE", DUE, DUE)
    assert "subscription.paused" not in _types(sub)

    with time_machine.travel(noon(DUE), tick=False):
        stats = renewals.renewals_run()
    assert stats.charged == 0
    sub.refresh_from_db()
    assert (sub.status, sub.paused_on, sub.resumes_on) == ("PAUSED", DUE, None)
    assert not Charge.objects.filter(subscription=sub).exists()
    event = SubscriptionEvent.objects.get(subscription=sub, type="subscription.paused")
    assert event.data["when"] == "period_end"


def test_resuming_a_pause_that_waits_for_the_period_end_calls_it_off():
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        subscription_pause(subscription=sub, actor=MEMBER, when="period_end", periods=1)
        resumed = subscription_resume(subscription=sub, actor=MEMBER)
    assert resumed.outcome is None
    sub.refresh_from_db()
    assert (sub.status, sub.pause_starts_on, sub.resumes_on) == ("ACTIVE", None, None)
    with time_machine.travel(noon(DUE), tick=False):
        renewals.renewals_run()
    assert Charge.objects.get(subscription=sub).status == "succeeded"


def test_resumed_inside_the_paid_period_charges_nothing_and_keeps_the_due_date():
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        subscription_pause(subscription=sub, actor=MEMBER)
    with time_machine.travel(noon(date(2026, 5, 2)), tick=False):
        resumed = subscription_resume(subscription=sub, actor=MEMBER, how="new_period")
    assert resumed.outcome is not None and resumed.outcome.how == "same_cycle"
    assert resumed.charge is None
    sub.refresh_from_db()
    assert (sub.status, sub.next_charge_date, sub.billing_anchor) == ("ACTIVE", DUE, ANCHOR)


def test_after_the_paid_period_new_period_charges_now_and_continue_grants_one():
    """Paused on May 10 (paid through May 10), resumed on June 25."""
    charged, granted = _subscription(), _subscription()
    with time_machine.travel(noon(date(2026, 5, 1)), tick=False):
        for sub in (charged, granted):
            subscription_pause(subscription=sub, actor=MEMBER, when="period_end")
    with time_machine.travel(noon(DUE), tick=False):
        renewals.renewals_run()
    with time_machine.travel(noon(date(2026, 6, 25)), tick=False):
        new = subscription_resume(subscription=charged, actor=MEMBER, how="new_period")
        kept = subscription_resume(subscription=granted, actor=MEMBER, how="continue")

    assert new.charge is not None
    assert (new.charge.status, new.charge.period_start, new.charge.period_end) == (
        "succeeded",
        date(2026, 6, 25),
        date(2026, 7, 25),
    )
    charged.refresh_from_db()
    assert (charged.billing_anchor, charged.next_charge_date, charged.paid_through) == (
        date(2026, 6, 25),
        date(2026, 7, 25),
        date(2026, 7, 25),
    )
    assert kept.charge is None
    granted.refresh_from_db()
    assert not Charge.objects.filter(subscription=granted).exists()
    assert (granted.billing_anchor, granted.next_charge_date, granted.paid_through) == (
        date(2026, 6, 25),
        date(2026, 7, 25),
        date(2026, 7, 25),
    )


def test_a_declined_charge_on_resuming_is_a_declined_renewal():
    sub = _subscription(pm="pm_sandbox_insufficient_funds")
    with time_machine.travel(noon(date(2026, 5, 1)), tick=False):
        subscription_pause(subscription=sub, actor=MEMBER, when="period_end")
    with time_machine.travel(noon(DUE), tick=False):
        renewals.renewals_run()
    with time_machine.travel(noon(date(2026, 6, 25)), tick=False):
        resumed = subscription_resume(subscription=sub, actor=MEMBER)
    assert resumed.charge is not None and resumed.charge.status == "declined"
    sub.refresh_from_db()
    assert sub.status == "DELAYED"
    assert sub.next_retry_date == date(2026, 6, 26)


def test_a_month_end_anchor_stays_on_month_ends_after_a_pause_for_periods():
    anchor = date(2026, 1, 31)
    sub = _subscription(anchor=anchor)
    sub.next_charge_date = sub.paid_through = date(2026, 3, 31)
    sub.save()
    with time_machine.travel(noon(date(2026, 3, 20)), tick=False):
        pause = subscription_pause(subscription=sub, actor=MEMBER, periods=1)
    assert pause.resumes_on == date(2026, 4, 30)
    with time_machine.travel(noon(date(2026, 4, 30)), tick=False):
        renewals.resumes_run()
    sub.refresh_from_db()
    assert (sub.billing_anchor, sub.next_charge_date) == (anchor, date(2026, 5, 31))


def test_resume_outcome_on_and_off_the_anchor_series():
    on = resume_outcome(
        how="new_period", paid_through=date(2026, 2, 28), anchor=date(2026, 1, 31),
        period="monthly", on=date(2026, 4, 30),
    )  # fmt: skip
    assert (on.billing_anchor, on.next_charge_date, on.charge_now) == (
        date(2026, 1, 31),
        date(2026, 4, 30),
        True,
    )
    off = resume_outcome(
        how="continue", paid_through=date(2026, 2, 28), anchor=date(2026, 1, 31),
        period="yearly", on=date(2026, 4, 29),
    )  # fmt: skip
    assert (off.billing_anchor, off.next_charge_date, off.charge_now) == (
        date(2026, 4, 29),
        date(2027, 4, 29),
        False,
    )


def test_the_stop_rule_ends_access_on_the_day_of_the_pause():
    sub = _subscription()
    RecoveryPolicy.objects.create(
        creator=sub.creator,
        product=sub.plan.product,
        pause_access=RecoveryPolicy.PauseAccess.STOP,
    )
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        pause = subscription_pause(subscription=sub, actor=MEMBER)
    assert pause.access_until == date(2026, 4, 20)
    changed = SubscriptionEvent.objects.get(
        subscription=sub, type="subscription.status_changed", data__to="PAUSED"
    )
    assert changed.data["access_until"] == "2026-04-20"


def test_what_cannot_be_paused_or_resumed_is_refused_and_changes_nothing():
    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        with pytest.raises(DomainError) as too_long:
            subscription_pause(subscription=sub, actor=MEMBER, periods=25)
        with pytest.raises(DomainError) as before_due:
            subscription_pause(subscription=sub, actor=MEMBER, until=date(2026, 5, 5))
        assert "2026-05-11" in before_due.value.message
        with pytest.raises(Conflict) as not_paused:
            subscription_resume(subscription=sub, actor=MEMBER)
        assert not_paused.value.code == "not_paused"
        subscription_pause(subscription=sub, actor=MEMBER)
        with pytest.raises(Conflict) as twice:
            subscription_pause(subscription=sub, actor=MEMBER)
    assert too_long.value.details == {"periods": ["A pause lasts from 1 to 24 periods."]}
    assert twice.value.code == "already_paused"
    late = SubscriptionFactory(status=Status.DELAYED)
    with pytest.raises(Conflict) as refused:
        subscription_pause(subscription=late, actor=MEMBER)
    assert refused.value.code == "not_active"


def test_a_subscriber_pauses_only_where_the_product_allows_and_never_longer():
    sub = _subscription()
    me = Actor.subscriber(sub.subscriber)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        with pytest.raises(Conflict) as not_offered:
            subscription_pause(subscription=sub, actor=me, periods=1)
        RecoveryPolicy.objects.create(
            creator=sub.creator,
            product=sub.plan.product,
            subscribers_can_pause=True,
            max_pause_periods=2,
        )
        with pytest.raises(Conflict) as too_long:
            subscription_pause(subscription=sub, actor=me, periods=3)
        subscription_pause(subscription=sub, actor=me, periods=2)
    assert (not_offered.value.code, too_long.value.code) == (
        "pause_not_offered",
        "pause_too_long",
    )
    sub.refresh_from_db()
    assert sub.status == "PAUSED"


def test_cancelling_a_paused_subscription_clears_the_pause():
    from subscriptions.services import subscription_cancel

    sub = _subscription()
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        subscription_pause(subscription=sub, actor=MEMBER, periods=1)
        subscription_cancel(subscription=sub, actor=MEMBER, reason="asked")
    sub.refresh_from_db()
    assert (sub.status, sub.resumes_on, sub.paused_on) == ("CANCELLED_BY_SELLER", None, None)
    with time_machine.travel(noon(date(2026, 6, 10)), tick=False):
        assert renewals.resumes_run().claimed == 0


@pytest.mark.django_db(transaction=True)
def test_the_renewal_and_resume_jobs_run_together_charge_the_period_once():
    """Both jobs started at the same moment on the resume day, many times over: the
    period starting on the resume date is charged exactly once."""
    subs = []
    for _ in range(12):
        sub = _subscription()
        with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
            subscription_pause(subscription=sub, actor=MEMBER, periods=1)
        subs.append(sub)

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def job(run) -> None:  # type: ignore[no-untyped-def]
        try:
            with time_machine.travel(noon(date(2026, 6, 10)), tick=False):
                start.wait()
                for _ in range(3):
                    run()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=job, args=(renewals.renewals_run,)),
        threading.Thread(target=job, args=(renewals.resumes_run,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for sub in subs:
        charges = list(Charge.objects.filter(subscription=sub))
        assert [(c.period_start, c.status) for c in charges] == [(date(2026, 6, 10), "succeeded")]
        sub.refresh_from_db()
        assert (sub.status, sub.next_charge_date) == ("ACTIVE", date(2026, 7, 10))


def test_pause_and_resume_through_the_api():
    sub = _subscription()
    client = api_client(sub.creator)
    base = f"/api/v1/subscriptions/{sub.uuid}"
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        both = client.post(f"{base}/pause", {"periods": 1, "until": "2026-07-01"}, format="json")
        assert both.status_code == 400
        assert both.json()["error"]["details"]["until"]
        bad = client.post(f"{base}/pause", {"when": "tomorrow"}, format="json")
        assert bad.status_code == 400
        paused = client.post(f"{base}/pause", {"when": "now", "periods": 2}, format="json")
        assert paused.status_code == 200, paused.content
        assert paused.json()["subscription"]["status"] == "PAUSED"
        assert paused.json()["pause"] == {
            "when": "now",
            "starts_on": "2026-04-20",
            "resumes_on": "2026-07-10",
            "access_until": "2026-05-10",
        }
        again = client.post(f"{base}/pause", {}, format="json")
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "already_paused"
    with time_machine.travel(noon(date(2026, 6, 1)), tick=False):
        resumed = client.post(
            f"{base}/resume", {"how": "new_period"}, format="json", HTTP_IDEMPOTENCY_KEY="r1"
        )
        assert resumed.status_code == 200, resumed.content
        body = resumed.json()
        assert body["resume"]["how"] == "new_period"
        assert body["resume"]["charge"]["status"] == "succeeded"
        assert body["resume"]["charge"]["period_start"] == "2026-06-01"
        assert body["subscription"]["status"] == "ACTIVE"
        assert body["subscription"]["next_charge_date"] == "2026-07-01"
        replay = client.post(
            f"{base}/resume", {"how": "new_period"}, format="json", HTTP_IDEMPOTENCY_KEY="r1"
        )
        assert replay.json() == body
        assert client.post(f"{base}/resume", {}, format="json").status_code == 409
    assert Charge.objects.filter(subscription=sub).count() == 1
