"""Undo and restart on the subscriber's manage page (reactivation/restart.py)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format

from core.actors import Actor
from dashboard.subscriber.views import SESSION_KEY
from reactivation.models import ReactivationRequest
from subscriptions.billing import add_months
from subscriptions.models import Charge, Status, SubscriptionEvent
from subscriptions.services import subscription_cancel
from tests.factories import SubscriptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def signed_in(subscription, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
    client = Client(
        REMOTE_ADDR=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    session = client.session
    session[SESSION_KEY] = {
        "creator": subscription.creator_id,
        "subscriber": subscription.subscriber_id,
        "until": time.time() + 600,
    }
    session.save()
    return client


def manage_html(client, subscription) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("subscriber:manage", args=[subscription.creator.slug]))
    assert response.status_code == 200
    return response.content.decode()


def restart(client, subscription):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("subscriber:restart", args=[subscription.creator.slug, subscription.uuid]),
        follow=True,
    )


@pytest.fixture
def cancelled(creator):  # type: ignore[no-untyped-def]
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    subscription_cancel(
        subscription=subscription,
        actor=Actor.subscriber(subscription.subscriber),
        reason="too expensive",
    )
    subscription.refresh_from_db()
    return subscription


def event_types(subscription) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        SubscriptionEvent.objects.filter(subscription=subscription)
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_undo_within_the_paid_period_charges_nothing_and_keeps_the_dates(cancelled):
    client = signed_in(cancelled)
    paid_through = cancelled.paid_through
    anchor = cancelled.billing_anchor
    html = manage_html(client, cancelled)
    assert "Undo the cancellation" in html
    assert f"renews on {date_format(paid_through, 'DATE_FORMAT')} as before" in html
    before = event_types(cancelled)

    page = restart(client, cancelled).content.decode()

    cancelled.refresh_from_db()
    assert cancelled.status == Status.ACTIVE
    assert (cancelled.billing_anchor, cancelled.next_charge_date) == (anchor, paid_through)
    assert cancelled.cancelled_at is None
    assert Charge.objects.filter(subscription=cancelled).count() == 0
    assert "is active again. Nothing was charged." in page
    assert f"Your next charge will be on {date_format(paid_through, 'DATE_FORMAT')}." in page
    assert event_types(cancelled)[len(before) :] == [
        "reactivation.requested",
        "reactivation.accepted",
        "subscription.status_changed",
        "subscription.reactivated",
    ]
    request = ReactivationRequest.objects.get(subscription=cancelled)
    assert (request.mode, request.status) == ("reactivate", "accepted")
    assert request.requested_by_label == cancelled.subscriber.email
    assert mail.outbox == []  # the subscriber is on the page: no reactivation email
    # Active again: the page offers cancelling, not undoing.
    html = manage_html(client, cancelled)
    assert "Undo the cancellation" not in html and "Cancel this subscription" in html


def test_restart_after_the_paid_period_charges_today_and_moves_the_anchor(cancelled):
    later = cancelled.paid_through + timedelta(days=10)
    with time_machine.travel(
        datetime(later.year, later.month, later.day, 15, tzinfo=UTC), tick=False
    ):
        client = signed_in(cancelled)
        html = manage_html(client, cancelled)
        assert "Restart and pay" in html and "Undo the cancellation" not in html

        page = restart(client, cancelled).content.decode()

        cancelled.refresh_from_db()
        assert cancelled.status == Status.ACTIVE
        assert cancelled.billing_anchor == later
        assert cancelled.next_charge_date == cancelled.paid_through == add_months(later, 1)
        [charge] = Charge.objects.filter(subscription=cancelled)
        assert (charge.kind, charge.status, charge.period_start) == (
            "reactivation",
            "succeeded",
            later,
        )
        assert charge.amount == cancelled.plan.price
        assert "Thank you for your payment." in page


def test_a_declined_restart_stays_cancelled_and_offers_another_card(cancelled):
    cancelled.payment_method = "pm_sandbox_declined"
    cancelled.save(update_fields=["payment_method"])
    later = cancelled.paid_through + timedelta(days=3)
    with time_machine.travel(
        datetime(later.year, later.month, later.day, 15, tzinfo=UTC), tick=False
    ):
        response = restart(signed_in(cancelled), cancelled)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Your subscription was not restarted" in html
    assert "The payment was not approved: The card was declined." in html
    assert 'id="pay-link" href="http://' in html and "/pay/" in html
    cancelled.refresh_from_db()
    assert cancelled.status == Status.CANCELLED_BY_CUSTOMER


def test_a_cancellation_by_the_creator_cannot_be_undone_by_the_subscriber(creator):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    subscription_cancel(subscription=subscription, actor=Actor.system(), reason="abuse")
    client = signed_in(subscription)
    assert "Undo the cancellation" not in manage_html(client, subscription)

    page = restart(client, subscription).content.decode()

    assert "Only a subscription you cancelled yourself can be restarted here." in page
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELLED_BY_ADMIN
    assert not ReactivationRequest.objects.filter(subscription=subscription).exists()


def test_no_undo_when_the_plan_is_off_sale(cancelled):
    cancelled.plan.is_active = False
    cancelled.plan.save(update_fields=["is_active"])
    client = signed_in(cancelled)
    assert "Undo the cancellation" not in manage_html(client, cancelled)
    assert "Only a subscription" in restart(client, cancelled).content.decode()
    cancelled.refresh_from_db()
    assert cancelled.status == Status.CANCELLED_BY_CUSTOMER


def test_someone_elses_subscription_is_404(cancelled, creator):
    other = SubscriptionFactory(creator=creator, plan=cancelled.plan)
    client = signed_in(other)
    response = client.post(reverse("subscriber:restart", args=[creator.slug, cancelled.uuid]))
    assert response.status_code == 404
    cancelled.refresh_from_db()
    assert cancelled.status == Status.CANCELLED_BY_CUSTOMER


def test_signed_out_is_sent_to_sign_in(cancelled):
    response = Client().post(
        reverse("subscriber:restart", args=[cancelled.creator.slug, cancelled.uuid])
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/s/{cancelled.creator.slug}/")


def test_a_second_click_changes_nothing_more(cancelled):
    client = signed_in(cancelled)
    restart(client, cancelled)
    page = restart(client, cancelled).content.decode()
    assert "Only a subscription" in page
    assert ReactivationRequest.objects.filter(subscription=cancelled).count() == 1


def test_undo_reads_in_portuguese(cancelled):
    client = signed_in(cancelled, "pt-br")
    client.cookies["django_language"] = "pt-br"
    html = manage_html(client, cancelled)
    assert "Desfazer o cancelamento" in html
    page = restart(client, cancelled).content.decode()
    assert "está ativa novamente. Nada foi cobrado." in page


def test_the_cancel_message_says_until_when(creator):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    client = signed_in(subscription)
    page = client.post(
        reverse("subscriber:cancel", args=[creator.slug, subscription.uuid]),
        {"reason": "too_expensive"},
        follow=True,
    ).content.decode()
    until = date_format(subscription.paid_through, "DATE_FORMAT")
    assert f"Your subscription is cancelled. You keep access until {until}." in page
