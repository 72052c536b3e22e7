"""Pause and resume in the dashboard (the detail page's panels, the product setting) and
on the subscriber's manage page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from subscriptions.models import Charge, RecoveryPolicy, Status
from tests.dashboard.test_subscriber_restart import manage_html, signed_in
from tests.factories import PlanFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

DUE = date(2026, 5, 10)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


@pytest.fixture
def active(creator):  # type: ignore[no-untyped-def]
    return SubscriptionFactory(
        creator=creator,
        plan__product__creator=creator,
        billing_anchor=date(2026, 1, 10),
        next_charge_date=DUE,
        paid_through=DUE,
    )


def test_the_creator_pauses_for_periods_and_resumes_from_the_detail_page(
    active, owner, viewer, login
):
    detail = reverse("dashboard:subscription_detail", args=[active.uuid])
    pause_url = reverse("dashboard:subscription_pause", args=[active.uuid])
    resume_url = reverse("dashboard:subscription_resume", args=[active.uuid])
    client = login(owner)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        assert 'id="pause-panel"' in client.get(detail).content.decode()
        assert login(viewer).post(pause_url, {"when": "now", "length": "open"}).status_code == 403
        missing = client.post(pause_url, {"when": "now", "length": "periods"}, follow=True)
        assert "Say for how many periods." in missing.content.decode()
        page = client.post(
            pause_url, {"when": "now", "length": "periods", "periods": "2"}, follow=True
        ).content.decode()
        assert "Paused. Nothing is charged while it is paused." in page
        assert "It resumes on July 10, 2026 with a charge for the new period." in page
        assert 'id="resume-panel"' in page and 'id="pause-panel"' not in page
        assert '<span class="badge neutral" id="subscription-status">Paused</span>' in page
    active.refresh_from_db()
    assert (active.status, active.resumes_on) == (Status.PAUSED, date(2026, 7, 10))

    with time_machine.travel(noon(date(2026, 6, 1)), tick=False):
        page = client.post(resume_url, {"how": "new_period"}, follow=True).content.decode()
    assert "Active again." in page and "was charged for the period to July 1, 2026." in page
    charge = Charge.objects.get(subscription=active)
    assert (charge.period_start, charge.status) == (date(2026, 6, 1), "succeeded")


def test_a_pause_at_the_period_end_shows_and_can_be_called_off(active, owner, login):
    client = login(owner)
    pause_url = reverse("dashboard:subscription_pause", args=[active.uuid])
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        page = client.post(
            pause_url, {"when": "period_end", "length": "until", "until": "2026-08-01"}, follow=True
        ).content.decode()
        assert "Paused from May 10, 2026, when the paid period ends." in page
        assert 'id="pause-starts-on"' in page and 'id="pause-call-off"' in page
        page = client.post(
            reverse("dashboard:subscription_resume", args=[active.uuid]),
            {"how": "new_period"},
            follow=True,
        ).content.decode()
    assert "The pause is called off; renewals go on as before." in page
    active.refresh_from_db()
    assert (active.status, active.pause_starts_on) == (Status.ACTIVE, None)


def test_a_bad_date_or_a_late_subscription_is_explained(creator, active, owner, login):
    client = login(owner)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        early = client.post(
            reverse("dashboard:subscription_pause", args=[active.uuid]),
            {"when": "now", "length": "until", "until": "2026-05-01"},
            follow=True,
        ).content.decode()
        assert "The resume date must be between 2026-05-11 and" in early
        late = SubscriptionFactory(
            creator=creator, plan__product__creator=creator, status=Status.DELAYED
        )
        refused = client.post(
            reverse("dashboard:subscription_pause", args=[late.uuid]),
            {"when": "now", "length": "open"},
            follow=True,
        ).content.decode()
    assert "Only an active subscription can be paused." in refused
    active.refresh_from_db()
    assert active.status == Status.ACTIVE


def test_the_product_setting_saves_the_pause_rule(creator, owner, login):
    product = SubscriptionFactory(creator=creator, plan__product__creator=creator).plan.product
    url = reverse("dashboard:recovery_policy", args=[product.uuid])
    client = login(owner)
    assert 'id="pause-settings"' in client.get(url).content.decode()
    answer = client.post(
        url,
        {
            "final_action": "leave_unpaid",
            "pause_access": "stop",
            "subscribers_can_pause": "on",
            "max_pause_periods": "2",
        },
    )
    assert answer.status_code == 302
    policy = RecoveryPolicy.objects.get(product=product)
    assert (policy.pause_access, policy.subscribers_can_pause, policy.max_pause_periods) == (
        "stop",
        True,
        2,
    )
    bad = client.post(url, {"final_action": "leave_unpaid", "max_pause_periods": "40"})
    assert bad.status_code == 400


def test_the_subscriber_pauses_only_where_offered_and_resumes(active):
    client = signed_in(active)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        assert f'id="pause-{active.uuid}"' not in manage_html(client, active)
        refused = client.post(
            reverse("subscriber:pause", args=[active.creator.slug, active.uuid]),
            {"periods": "1"},
            follow=True,
        ).content.decode()
        assert "Pausing is not offered for this subscription." in refused
        RecoveryPolicy.objects.create(
            creator=active.creator,
            product=active.plan.product,
            subscribers_can_pause=True,
            max_pause_periods=2,
        )
        page = manage_html(client, active)
        assert f'id="pause-{active.uuid}"' in page
        assert '<option value="2">2 periods</option>' in page
        too_long = client.post(
            reverse("subscriber:pause", args=[active.creator.slug, active.uuid]),
            {"periods": "3"},
            follow=True,
        ).content.decode()
        assert "You can pause for 1 to 2 periods." in too_long
        page = client.post(
            reverse("subscriber:pause", args=[active.creator.slug, active.uuid]),
            {"periods": "2"},
            follow=True,
        ).content.decode()
        assert "paused from May 10, 2026, when the paid period ends, and resumes on" in page
        assert "July 10, 2026" in page and "Keep my subscription going" in page
    with time_machine.travel(noon(DUE), tick=False):
        from subscriptions import renewals

        renewals.renewals_run()
    active.refresh_from_db()
    assert active.status == Status.PAUSED
    with time_machine.travel(noon(date(2026, 5, 20)), tick=False):
        page = manage_html(client, active)
        assert "is charged today to your saved card" in page
        page = client.post(
            reverse("subscriber:resume", args=[active.creator.slug, active.uuid]), follow=True
        ).content.decode()
    assert "Active again." in page and "was charged for the period to June 20, 2026." in page
    active.refresh_from_db()
    assert (active.status, active.billing_anchor) == (Status.ACTIVE, date(2026, 5, 20))


def test_someone_elses_subscription_cannot_be_paused_or_resumed(active, creator):
    other = SubscriptionFactory(creator=creator, plan=active.plan)
    client = signed_in(other)
    for name in ("subscriber:pause", "subscriber:resume"):
        answer = client.post(reverse(name, args=[creator.slug, active.uuid]), {"periods": "1"})
        assert answer.status_code == 404
    active.refresh_from_db()
    assert active.status == Status.ACTIVE


def test_the_creator_changes_the_billing_day_from_the_detail_page(active, owner, viewer, login):
    url = reverse("dashboard:subscription_billing_day", args=[active.uuid])
    detail = reverse("dashboard:subscription_detail", args=[active.uuid])
    client = login(owner)
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        assert 'id="billing-day-panel"' in client.get(detail).content.decode()
        assert login(viewer).post(url, {"day": "20"}).status_code == 403
        bad = client.post(url, {"day": "abc"}, follow=True).content.decode()
        assert "Choose a day from 1 to 28." in bad
        page = client.post(url, {"day": "20"}, follow=True).content.decode()
        assert "The next charge is on May 20, 2026." in page
        assert "is added to it for the 10 days in between." in page
        twice = client.post(url, {"day": "21"}, follow=True).content.decode()
        assert "The billing day can be changed once a period." in twice
    active.refresh_from_db()
    assert active.next_charge_date == date(2026, 5, 20)


def test_the_subscriber_changes_the_billing_day_where_offered(active):
    client = signed_in(active)
    url = reverse("subscriber:billing_day", args=[active.creator.slug, active.uuid])
    with time_machine.travel(noon(date(2026, 4, 20)), tick=False):
        assert f'id="billing-day-{active.uuid}"' not in manage_html(client, active)
        refused = client.post(url, {"day": "5"}, follow=True).content.decode()
        assert "Changing the billing day is not offered for this subscription." in refused
        RecoveryPolicy.objects.create(
            creator=active.creator,
            product=active.plan.product,
            subscribers_can_change_billing_day=True,
        )
        assert f'id="billing-day-{active.uuid}"' in manage_html(client, active)
        page = client.post(url, {"day": "5"}, follow=True).content.decode()
    assert "The next charge is on May 5, 2026." in page
    assert "is taken off it for the 5 days already paid." in page
    active.refresh_from_db()
    assert (active.next_charge_date, active.charge_adjustment) == (
        date(2026, 5, 5),
        Decimal("-8.32"),  # 49.90 * 5 / 30
    )


def test_the_detail_page_and_the_manage_page_show_a_free_trial(creator, owner, login):
    from subscriptions.services import SubscriberData, subscription_create

    plan = PlanFactory(
        product__creator=creator, creator=creator, trial_days=14, trial_requires_card=False
    )
    with time_machine.travel(noon(date(2026, 3, 1)), tick=False):
        sub = subscription_create(
            creator=creator,
            plan=plan,
            subscriber=SubscriberData(email="trial@example.com"),
            payment_method="",
        )
        detail = login(owner).get(reverse("dashboard:subscription_detail", args=[sub.uuid]))
        page = detail.content.decode()
        assert 'id="trial-ends-on">March 15, 2026 · no card yet<' in page
        assert "Free trial started" in page  # the timeline
        assert "Free trial until" in manage_html(signed_in(sub), sub)
