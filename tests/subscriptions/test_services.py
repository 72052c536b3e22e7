from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from core.errors import Conflict
from subscriptions.models import Charge, Status
from subscriptions.services import SubscriberData, subscription_cancel, subscription_create
from tests.factories import PlanFactory, SubscriptionFactory, actor_for

pytestmark = pytest.mark.django_db(transaction=False)


def _sale(plan, payment_method="pm_sandbox_ok", **kw):  # type: ignore[no-untyped-def]
    return subscription_create(
        creator=plan.creator,
        plan=plan,
        subscriber=SubscriberData(email="ana@example.com", name="Ana"),
        payment_method=payment_method,
        **kw,
    )


@pytest.mark.django_db(transaction=True)
def test_new_sale_charges_first_period_and_becomes_active():
    plan = PlanFactory()
    with time_machine.travel(datetime(2026, 1, 31, 15, 0, tzinfo=UTC), tick=False):
        sub = _sale(plan)
    assert sub.status == Status.ACTIVE
    assert sub.billing_anchor == date(2026, 1, 31)
    assert sub.paid_through == sub.next_charge_date == date(2026, 2, 28)
    charge = Charge.objects.get(subscription=sub)
    assert (charge.kind, charge.status, charge.amount) == ("first", "succeeded", plan.price)
    types = list(sub.events.values_list("type", flat=True))
    assert types == ["subscription.created", "charge.succeeded", "subscription.status_changed"]


@pytest.mark.django_db(transaction=True)
def test_sale_at_2330_in_sao_paulo_is_anchored_on_the_local_day():
    plan = PlanFactory(creator__time_zone="America/Sao_Paulo")
    # 23:30 in São Paulo (UTC-3) is 02:30 UTC of the next day.
    with time_machine.travel(datetime(2026, 3, 11, 2, 30, tzinfo=UTC), tick=False):
        sub = _sale(plan)
    assert sub.billing_anchor == date(2026, 3, 10)
    assert sub.next_charge_date == date(2026, 4, 10)


@pytest.mark.django_db(transaction=True)
def test_declined_first_charge_leaves_subscription_inactive():
    sub = _sale(PlanFactory(), payment_method="pm_sandbox_declined")
    assert sub.status == Status.INACTIVE
    assert sub.next_charge_date is None
    assert Charge.objects.get(subscription=sub).status == "declined"


def test_import_charges_nothing_and_finds_next_due_date():
    plan = PlanFactory()
    with time_machine.travel(datetime(2026, 5, 20, 15, 0, tzinfo=UTC), tick=False):
        sub = _sale(plan, started_at=datetime(2025, 1, 31, 15, 0, tzinfo=UTC))
    assert sub.status == Status.ACTIVE
    assert sub.billing_anchor == date(2025, 1, 31)
    assert sub.next_charge_date == date(2026, 5, 31)
    assert not Charge.objects.filter(subscription=sub).exists()


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("customer", Status.CANCELLED_BY_CUSTOMER),
        ("seller", Status.CANCELLED_BY_SELLER),
        ("admin", Status.CANCELLED_BY_ADMIN),
    ],
)
def test_cancel_by_each_source_keeps_paid_through(source, status):
    sub = SubscriptionFactory()
    paid_through = sub.paid_through
    cancelled = subscription_cancel(
        subscription=sub, actor=actor_for(source), reason="too expensive"
    )
    assert cancelled.status == status
    assert cancelled.next_charge_date is None
    assert cancelled.paid_through == paid_through
    assert cancelled.cancelled_at is not None
    event = cancelled.events.get(type="subscription.status_changed")
    assert event.data["source"] == source and event.data["reason"] == "too expensive"
    with pytest.raises(Conflict):
        subscription_cancel(subscription=cancelled, actor=actor_for(source))
