"""Stripe answering 500 for an hour (SPEC §4.6, docs.stripe.com/idempotency): one
`charge.failed` per scheduled attempt, and never a second PaymentIntent for a period.

The fake is stateful and replays the first answer to a key, a 500 included, as Stripe
documents (tests/subscriptions/stripe_server.py: StripeLedger)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from accounts.models import Creator
from core.errors import GatewayUnavailable
from subscriptions import renewals
from subscriptions.models import Charge, Status, Subscription
from subscriptions.plan_changes import subscription_plan_change
from tests.factories import (
    CreatorFactory,
    PlanFactory,
    SubscriberFactory,
    SubscriptionFactory,
    actor_for,
)
from tests.subscriptions import stripe_server as ss

pytestmark = pytest.mark.django_db

DUE = date(2026, 2, 10)
START = datetime(2026, 2, 10, 15, tzinfo=UTC)  # noon in São Paulo


@pytest.fixture
def ledger(settings):  # type: ignore[no-untyped-def]
    with ss.running(settings) as fake:
        fake.default = ss.StripeLedger()
        yield fake


def _stripe_subscription() -> Subscription:
    creator = CreatorFactory(
        gateway=Creator.Gateway.STRIPE,
        gateway_credentials={"secret_key": "sk_test_51Nabc0123456789", "webhook_secret": "w"},
    )
    return SubscriptionFactory(
        plan=PlanFactory(product__creator=creator),
        subscriber=SubscriberFactory(creator=creator, gateway_customer_id="cus_NffrFeUfNV2Hib"),
        payment_method="pm_1MtwBwLkdIwHu7ixgW7QxA9P",
        billing_anchor=date(2026, 1, 10),
        started_at=START - timedelta(days=31),
        next_charge_date=DUE,
        paid_through=DUE,
    )


def _dearer_plan(subscription: Subscription):  # type: ignore[no-untyped-def]
    """A plan 30.00 dearer of the same product and period: a switch charged now."""
    return PlanFactory(
        product=subscription.plan.product,
        creator=subscription.creator,
        price=subscription.plan.price + Decimal("30.00"),
        currency=subscription.plan.currency,
        period=subscription.plan.period,
    )


def _run_every_30_seconds(until: datetime, start: datetime = START) -> int:
    moment, runs = start, 0
    while moment < until:
        with time_machine.travel(moment, tick=False):
            renewals.renewals_run()
            renewals.retries_run()
        runs += 1
        moment += timedelta(seconds=30)
    return runs


def _creations(fake: ss.FakeStripe) -> list[str]:
    return [
        r.header("Idempotency-Key")
        for r in fake.requests
        if r.method == "POST" and r.path == "/v1/payment_intents"
    ]


@pytest.mark.parametrize("charged_anyway", [False, True])
def test_an_hour_of_500s_writes_one_charge_failed_per_attempt_and_one_payment_intent(
    ledger, charged_anyway
):
    sub = _stripe_subscription()
    ledger.default.outage_until = (START + timedelta(hours=1)).timestamp()
    ledger.default.charges_during_outage = charged_anyway

    runs = _run_every_30_seconds(START + timedelta(hours=2))
    assert runs == 240
    # The whole due date: the key keeps getting its replayed 500, nothing is recorded.
    assert sub.events.filter(type="charge.failed").count() == 0
    assert len(set(_creations(ledger))) == 1
    # Tries back off (0, 1, 2, 4, 8, 16, 32 and 64 minutes), all with the same key,
    # instead of one per run (240).
    assert len(_creations(ledger)) == 8

    # Next day: the due-date attempt is given up (its one charge.failed), and the first
    # retry, under a new key, looks up the period's PaymentIntent before creating one.
    next_day = datetime(2026, 2, 11, 15, tzinfo=UTC)
    _run_every_30_seconds(next_day + timedelta(minutes=5), start=next_day)
    failed = [e.data for e in sub.events.filter(type="charge.failed")]
    assert [(e["attempt"], e["outcome"]) for e in failed] == [(1, "error")]
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
    assert sub.paid_through == date(2026, 3, 10)
    assert len(ledger.default.intents) == 1  # never a second PaymentIntent for the period
    paid = Charge.objects.get(subscription=sub, status="succeeded")
    assert (paid.kind, paid.gateway_reference) == ("retry", ledger.default.intents[0]["id"])
    lookups = [r for r in ledger.requests if r.method == "GET"]
    assert lookups and lookups[0].params["customer"] == "cus_NffrFeUfNV2Hib"
    if charged_anyway:  # Stripe had charged during the outage: found, not charged again
        assert len(set(_creations(ledger))) == 1
    else:
        assert len(set(_creations(ledger))) == 2


def test_while_the_lookup_fails_no_new_key_is_used(ledger):
    """Stripe down for days: the retry cannot rule out an earlier payment, so it creates
    nothing under its new key and stays open (transient), as the due date's try did."""
    sub = _stripe_subscription()
    ledger.default.outage_until = (START + timedelta(days=3)).timestamp()
    for day in range(2):
        with time_machine.travel(START + timedelta(days=day), tick=False):
            renewals.renewals_run()
            renewals.retries_run()
    sub.refresh_from_db()
    assert sub.status == Status.DELAYED
    assert ledger.default.intents == []
    assert set(_creations(ledger)) == {f"sub_{sub.uuid.hex}_2026-02-10_a0"}
    assert [r.method for r in ledger.requests][-1] == "GET"  # the retry's lookup
    retry = Charge.objects.get(subscription=sub, kind="retry")
    assert retry.status == "failed"
    assert sub.events.filter(type="charge.failed").count() == 1  # the due date's only


@pytest.mark.parametrize("charged_anyway", [False, True])
def test_a_plan_switch_retried_after_a_500_never_takes_the_renewal_for_its_payment(
    ledger, charged_anyway
):
    sub = _stripe_subscription()
    with time_machine.travel(START, tick=False):
        renewals.renewals_run()  # the period's renewal: a succeeded PaymentIntent
    sub.refresh_from_db()
    dearer = _dearer_plan(sub)
    later = START + timedelta(days=15)
    ledger.default.outage_until = later.timestamp() + 60
    ledger.default.charges_during_outage = charged_anyway
    with time_machine.travel(later, tick=False), pytest.raises(GatewayUnavailable):
        subscription_plan_change(subscription=sub, plan=dearer, actor=actor_for("seller"))
    ledger.default.outage_until = 0
    with time_machine.travel(later + timedelta(minutes=5), tick=False):
        change = subscription_plan_change(subscription=sub, plan=dearer, actor=actor_for("seller"))

    assert change.charge is not None and change.charge.status == "succeeded"
    intents = ledger.default.intents
    switch = [pi for pi in intents if pi["metadata"].get("intent")]
    # The renewal's PaymentIntent, and one for the switch: made once, during the outage
    # (found by the second try) or by the second try itself.
    assert len(intents) == 2 and len(switch) == 1
    assert change.charge.gateway_reference == switch[0]["id"]
    sub.refresh_from_db()
    assert sub.plan == dearer


def test_a_plan_switch_paid_by_a_bank_debit_is_finished_by_asking_again(ledger):
    sub = _stripe_subscription()
    dearer = _dearer_plan(sub)
    ledger.default.processing = True
    moment = START - timedelta(days=10)
    with time_machine.travel(moment, tick=False):
        with pytest.raises(GatewayUnavailable, match="still being processed") as raised:
            subscription_plan_change(subscription=sub, plan=dearer, actor=actor_for("seller"))
        assert raised.value.code == "payment_processing"
        [intent] = ledger.default.intents
        with pytest.raises(GatewayUnavailable):  # still processing: read back, not paid again
            subscription_plan_change(subscription=sub, plan=dearer, actor=actor_for("seller"))
        ledger.default.settle(intent["id"], "succeeded")
        change = subscription_plan_change(subscription=sub, plan=dearer, actor=actor_for("seller"))

    assert len(ledger.default.intents) == 1  # one payment for the switch
    assert change.charge is not None and change.charge.gateway_reference == intent["id"]
    sub.refresh_from_db()
    assert sub.plan == dearer
