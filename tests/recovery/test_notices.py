"""Cancelled for non-payment: the subscriber and the creator's owners are told, once
(recovery/notices.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from core.actors import Actor
from recovery.models import NoticeSent
from recovery.notices import notice_email_sweep
from subscriptions import renewals
from subscriptions.models import RecoveryPolicy, Status, SubscriptionEvent
from subscriptions.services import subscription_cancel
from tests.factories import MembershipFactory, PlanFactory, UserFactory
from tests.recovery.conftest import DUE, at, declined_renewal, process_events

pytestmark = pytest.mark.django_db


def _plan(*, send_subscriber_email: bool = True):  # type: ignore[no-untyped-def]
    plan = PlanFactory(product__name="Yoga Club", name="Monthly")
    plan.creator.locale = "pt-BR"
    plan.creator.save(update_fields=["locale"])
    RecoveryPolicy.objects.create(
        creator=plan.creator,
        product=plan.product,
        retry_schedule=[1],
        final_action=RecoveryPolicy.FinalAction.CANCEL,
        send_payment_failed_email=send_subscriber_email,
    )
    owner = UserFactory(email="owner@studio.example")
    MembershipFactory(creator=plan.creator, user=owner, role=Role.OWNER)
    MembershipFactory(creator=plan.creator, role=Role.VIEWER)  # viewers are not told
    return plan


def _cancelled_after_the_last_retry(plan, locale: str = "en"):  # type: ignore[no-untyped-def]
    sub = declined_renewal(plan=plan, locale=locale, subscriber__name="Ana")
    mail.outbox.clear()
    with at(DUE + timedelta(days=1)):
        renewals.retries_run()
        process_events(sub)
    sub.refresh_from_db()
    assert (sub.status, sub.cancellation_reason) == (Status.CANCELLED_BY_ADMIN, "unpaid")
    return sub


def test_the_subscriber_and_the_owners_are_told_in_their_languages():
    sub = _cancelled_after_the_last_retry(_plan(), locale="en")

    by_to = {m.to[0]: m for m in mail.outbox}
    assert set(by_to) == {sub.subscriber.email, "owner@studio.example"}
    to_subscriber = by_to[sub.subscriber.email]
    assert to_subscriber.subject == "Your subscription to Yoga Club was cancelled"
    assert "Hello Ana," in to_subscriber.body
    assert "could not be collected after the last attempt" in to_subscriber.body
    assert "Left unpaid: 49.90 BRL" in to_subscriber.body
    assert f"/s/{sub.creator.slug}/" in to_subscriber.body
    assert "Yoga Club" in to_subscriber.alternatives[0][0]
    to_owner = by_to["owner@studio.example"]  # the creator writes in Portuguese
    assert to_owner.subject == (
        f"Cancelada por falta de pagamento: {sub.subscriber.email} (Yoga Club)"
    )
    assert "Deixado sem pagar: 49,90 BRL" in to_owner.body
    assert f"/subscriptions/{sub.uuid}/" in to_owner.body


def test_a_subscriber_in_portuguese_reads_portuguese():
    sub = _cancelled_after_the_last_retry(_plan(), locale="pt-BR")
    [to_subscriber] = [m for m in mail.outbox if m.to == [sub.subscriber.email]]
    assert to_subscriber.subject == "Sua assinatura de Yoga Club foi cancelada"
    assert "Olá, Ana," in to_subscriber.body


def test_processing_the_event_again_sends_nothing_more():
    sub = _cancelled_after_the_last_retry(_plan())
    sent = len(mail.outbox)
    SubscriptionEvent.objects.filter(subscription=sub).update(processed_at=None)
    process_events(sub)
    assert len(mail.outbox) == sent == 2
    assert NoticeSent.objects.filter(sent_at__isnull=False).count() == 2


def test_with_payment_emails_off_only_the_creator_is_told():
    sub = _cancelled_after_the_last_retry(_plan(send_subscriber_email=False))
    assert [m.to for m in mail.outbox] == [["owner@studio.example"]]
    assert sub.subscriber.email not in str([m.to for m in mail.outbox])


def test_other_cancellations_send_no_notice():
    sub = declined_renewal(plan=_plan())
    mail.outbox.clear()
    subscription_cancel(subscription=sub, actor=Actor.system(), reason="fraud")
    process_events(sub)
    assert mail.outbox == []
    assert not NoticeSent.objects.exists()


def test_a_notice_whose_email_was_never_sent_is_swept_after_two_minutes():
    sub = _cancelled_after_the_last_retry(_plan())
    # As if the broker had been down when the notices were recorded, just now.
    NoticeSent.objects.update(sent_at=None, created_at=timezone.now())
    mail.outbox.clear()
    assert notice_email_sweep() == 0  # too recent: its task may still be on the way
    NoticeSent.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    assert notice_email_sweep() == 2
    assert {m.to[0] for m in mail.outbox} == {sub.subscriber.email, "owner@studio.example"}
    assert notice_email_sweep() == 0
