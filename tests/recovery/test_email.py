"""The payment-failed email: what failed, how much, the next attempt, the link; in the
subscriber's language, text and HTML (SPEC §4.6)."""

from __future__ import annotations

import pytest
from django.core import mail

from subscriptions.models import RecoveryPolicy
from tests.factories import PlanFactory
from tests.recovery.conftest import declined_renewal, token_from_last_email

pytestmark = pytest.mark.django_db


def test_email_says_what_failed_how_much_the_next_attempt_and_links():
    sub = declined_renewal(plan=PlanFactory(product__name="Yoga Club"))
    message = mail.outbox[0]
    assert message.to == [sub.subscriber.email]
    assert message.subject == "Your payment for Yoga Club did not go through"
    body = message.body
    assert "We could not charge the payment for your subscription to Yoga Club" in body
    assert "Amount due: 49.90 BRL" in body
    assert "We will try the same card again on Feb. 11, 2026." in body
    assert f"/pay/{token_from_last_email()}/" in body
    html = message.alternatives[0][0]
    assert "Yoga Club" in html and "49.90 BRL" in html and "/pay/" in html


def test_email_in_portuguese_for_a_pt_br_subscriber():
    declined_renewal(locale="pt-BR", plan=PlanFactory(product__name="Clube"))
    message = mail.outbox[0]
    assert message.subject == "Seu pagamento de Clube não foi aprovado"
    assert "Valor devido: 49,90 BRL" in message.body
    assert "Tentaremos o mesmo cartão novamente em 11 de fevereiro de 2026." in message.body


def test_hard_decline_email_asks_for_another_method():
    declined_renewal("pm_sandbox_stolen_card")
    body = mail.outbox[0].body
    assert "we will not try it again" in body
    assert "We will try the same card again" not in body


def test_creator_wording_replaces_the_first_paragraph():
    plan = PlanFactory()
    RecoveryPolicy.objects.create(
        creator=plan.creator,
        product=plan.product,
        payment_failed_message="Oops, your card bounced. Fix it below!",
        final_action=RecoveryPolicy.FinalAction.CANCEL,
    )
    declined_renewal(plan=plan)
    body = mail.outbox[0].body
    assert "Oops, your card bounced. Fix it below!" in body
    assert "We could not charge" not in body
    assert "your subscription will be cancelled" in body
    assert "Amount due: 49.90 BRL" in body
