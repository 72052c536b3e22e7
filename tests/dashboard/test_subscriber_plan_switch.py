"""The subscriber switches plans from the manage page where the product allows it
(subscriptions/plan_changes.py): the offered plans, an upgrade now, a downgrade for the
renewal called off again, and the refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from subscriptions.models import Charge, RecoveryPolicy
from tests.dashboard.test_subscriber_restart import manage_html, signed_in
from tests.factories import PlanFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


@pytest.fixture
def switchable(creator):  # type: ignore[no-untyped-def]
    sub = SubscriptionFactory(
        creator=creator,
        plan__product__creator=creator,
        plan__price=Decimal("50.00"),
        plan__period="monthly",
        billing_anchor=date(2026, 1, 10),
        next_charge_date=date(2026, 2, 10),
        paid_through=date(2026, 2, 10),
    )
    pro = PlanFactory(
        product=sub.plan.product, name="Pro", price="80.00", currency=sub.plan.currency
    )
    lite = PlanFactory(
        product=sub.plan.product, name="Lite", price="30.00", currency=sub.plan.currency
    )
    return sub, pro, lite


def _switch(client, sub, plan):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("subscriber:change_plan", args=[sub.creator.slug, sub.uuid]),
        {"plan": str(plan.uuid)},
        follow=True,
    ).content.decode()


def test_switching_is_offered_only_where_the_product_allows(switchable):
    sub, pro, _lite = switchable
    client = signed_in(sub)
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        assert f'id="plan-{sub.uuid}"' not in manage_html(client, sub)
        page = _switch(client, sub, pro)
    assert "Switching plans is not offered for this subscription." in page
    sub.refresh_from_db()
    assert sub.plan != pro and not Charge.objects.filter(subscription=sub).exists()


def test_the_subscriber_upgrades_now_and_schedules_a_downgrade(switchable):
    sub, pro, lite = switchable
    RecoveryPolicy.objects.create(
        creator=sub.creator, product=sub.plan.product, subscribers_can_switch_plans=True
    )
    client = signed_in(sub)
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        page = manage_html(client, sub)
        assert f'id="plan-{sub.uuid}"' in page
        assert "now, R$" in page and "15.48 charged for the rest of this period" in page
        upgraded = _switch(client, sub, pro)
        assert "Switched to Pro;" in upgraded and "15.48" in upgraded
        sub.refresh_from_db()
        assert sub.plan == pro
        scheduled = _switch(client, sub, lite)
        assert "Lite from the next renewal, Feb. 10, 2026." in scheduled
        assert "Keep the current plan" in scheduled
        kept = _switch(client, sub, pro)
    assert "The scheduled plan switch is called off." in kept
    sub.refresh_from_db()
    assert (sub.plan, sub.scheduled_plan) == (pro, None)
    [charge] = Charge.objects.filter(subscription=sub)
    assert (charge.kind, charge.amount) == ("plan_change", Decimal("15.48"))


def test_a_declined_upgrade_or_a_foreign_plan_changes_nothing(switchable):
    sub, pro, _lite = switchable
    RecoveryPolicy.objects.create(
        creator=sub.creator, product=sub.plan.product, subscribers_can_switch_plans=True
    )
    sub.payment_method = "pm_sandbox_insufficient_funds"
    sub.save(update_fields=["payment_method"])
    client = signed_in(sub)
    with time_machine.travel(noon(date(2026, 1, 25)), tick=False):
        declined = _switch(client, sub, pro)
        foreign = _switch(client, sub, PlanFactory())
        bad = client.post(
            reverse("subscriber:change_plan", args=[sub.creator.slug, sub.uuid]),
            {"plan": "nope"},
            follow=True,
        ).content.decode()
    assert "declined, so the plan did not change" in declined
    assert (
        "Choose one of the plans offered." in foreign and "Choose one of the plans offered." in bad
    )
    sub.refresh_from_db()
    assert sub.plan != pro
