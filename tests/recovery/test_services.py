"""Payment links issued from `charge.failed` events (SPEC §4.6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail

from recovery.models import PaymentLink
from subscriptions import renewals
from subscriptions.models import RecoveryPolicy, Status
from subscriptions.outbox import event_process
from tests.factories import SubscriptionFactory
from tests.recovery.conftest import DUE, at, declined_renewal, noon, process_events

pytestmark = pytest.mark.django_db


def test_a_declined_renewal_issues_one_link_valid_until_the_period_ends():
    sub = declined_renewal()
    assert sub.status == Status.DELAYED
    link = PaymentLink.objects.get(subscription=sub)
    assert (link.period_start, link.amount, link.currency, link.attempt) == (
        DUE,
        sub.plan.price,
        "BRL",
        1,
    )
    # Until local midnight of the next due date (Mar 10, São Paulo = 03:00 UTC).
    assert link.expires_at.isoformat() == "2026-03-10T03:00:00+00:00"
    assert link.emailed_at is not None and len(link.token_hash or "") == 64
    assert len(mail.outbox) == 1


def test_each_failed_retry_issues_a_new_link_and_email():
    sub = declined_renewal()
    with at(date(2026, 2, 11)):
        renewals.retries_run()
        process_events(sub)
    links = PaymentLink.objects.filter(subscription=sub).order_by("created_at")
    assert [link.attempt for link in links] == [1, 2]
    assert len(mail.outbox) == 2


def test_an_event_processed_twice_sends_one_email():
    sub = declined_renewal()
    event = sub.events.get(type="charge.failed")
    event.processed_at = None
    event.save(update_fields=["processed_at"])
    event_process(event_id=event.pk)
    assert PaymentLink.objects.filter(subscription=sub).count() == 1
    assert len(mail.outbox) == 1


def test_no_email_when_the_product_turned_it_off():
    sub = SubscriptionFactory(
        billing_anchor=date(2026, 1, 10),
        started_at=noon(date(2026, 1, 10)),
        next_charge_date=DUE,
        paid_through=DUE,
        payment_method="pm_sandbox_declined",
    )
    RecoveryPolicy.objects.create(
        creator=sub.creator, product=sub.plan.product, send_payment_failed_email=False
    )
    with at(DUE):
        renewals.renewals_run()
        process_events(sub)
    assert PaymentLink.objects.count() == 0
    assert mail.outbox == []


def test_a_declined_first_sale_sends_no_payment_email():
    from subscriptions.services import SubscriberData, subscription_create

    plan = SubscriptionFactory().plan
    sub = subscription_create(
        creator=plan.creator,
        plan=plan,
        subscriber=SubscriberData(email="new@example.com"),
        payment_method="pm_sandbox_declined",
    )
    process_events(sub)
    assert sub.status == Status.INACTIVE
    assert PaymentLink.objects.count() == 0 and mail.outbox == []


def test_the_sweep_job_emails_a_link_whose_email_was_never_queued(monkeypatch):
    from django.core.management import call_command

    from recovery import tasks

    monkeypatch.setattr(tasks.payment_emails_send, "apply_async", _broker_down)
    sub = declined_renewal()
    link = PaymentLink.objects.get(subscription=sub)
    assert link.emailed_at is None and mail.outbox == []
    with at(DUE):
        call_command("run_scheduled_jobs", "--job", "payment_email_sweep")
    assert mail.outbox == []  # younger than two minutes: maybe still queued
    with time_machine.travel(noon(DUE) + timedelta(minutes=3), tick=False):
        call_command("run_scheduled_jobs", "--job", "payment_email_sweep")
        call_command("run_scheduled_jobs", "--job", "payment_email_sweep")
    assert len(mail.outbox) == 1
    link.refresh_from_db()
    assert link.emailed_at is not None


def _broker_down(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise ConnectionError("broker unreachable")
