"""The reactivation email (SPEC §6.2, §9): localized, text + HTML, sent after commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from reactivation import services
from reactivation.email import reactivation_emails_send
from reactivation.jobs import reactivation_email_sweep
from reactivation.models import ReactivationRequest
from tests.factories import SUPPORT_ACTOR, TEST_ACTOR
from tests.reactivation.factories import at, seed_subscription, token_from_last_email

pytestmark = pytest.mark.django_db


def _send(subscription, mode, when, capture):  # type: ignore[no-untyped-def]
    with time_machine.travel(when, tick=False), capture(execute=True):
        return services.reactivation_request_create(
            subscription=subscription, mode=mode, actor=TEST_ACTOR
        )


def test_email_says_what_when_until_when_and_links(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.BASE_URL = "https://subs.example.com"
    subscription = seed_subscription()
    _send(
        subscription, "reactivate_and_charge", at(2026, 5, 19), django_capture_on_commit_callbacks
    )
    (message,) = mailoutbox
    assert message.to == [subscription.subscriber.email]
    product = subscription.plan.product.name
    assert product in message.subject
    token = token_from_last_email()
    link = f"https://subs.example.com/reactivate/{token}/"
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    for body in (message.body, html):
        assert product in body
        assert link in body
        # What accepting does, in the subscriber's words (the page's), not the mode's name.
        assert "Reactivate and charge" not in body
        assert "If you accept" in body
        assert "active again right away, with a new billing period starting today" in body
        assert "49.90 BRL will be charged on the day you accept" in body
        # Created May 19 15:00 UTC → expires May 22 15:00 UTC = 12:00 in São Paulo.
        assert "May 22, 2026, noon (America/Sao_Paulo)" in body
    # Only the hash is stored.
    request = ReactivationRequest.objects.get()
    assert request.token_hash != token and len(request.token_hash) == 64
    assert token not in str(list(ReactivationRequest.objects.values()))


def test_same_cycle_email_gives_the_next_charge_date(
    mailoutbox, django_capture_on_commit_callbacks
):
    _send(seed_subscription(), "reactivate", at(2026, 4, 18), django_capture_on_commit_callbacks)
    message = mailoutbox[0]
    for body in (message.body, message.alternatives[0][0]):
        assert "Your next charge stays on May 10, 2026" in body
        assert "active again right away and keeps its billing dates" in body
        assert "Reactivate" not in body.replace("/reactivate/", "")


def test_email_in_portuguese_for_a_pt_br_subscriber(mailoutbox, django_capture_on_commit_callbacks):
    subscription = seed_subscription()
    subscription.subscriber.locale = "pt-BR"
    subscription.subscriber.save()
    _send(subscription, "reactivate", at(2026, 4, 18), django_capture_on_commit_callbacks)
    message = mailoutbox[0]
    assert "Reativar" in message.subject or "reativar" in message.subject
    assert "10 de Maio de 2026" in message.body or "10 de maio de 2026" in message.body
    for body in (message.body, message.alternatives[0][0]):
        assert "Se você aceitar" in body
        assert "Sua assinatura volta a ficar ativa na hora e mantém as datas de cobrança." in body
        assert "Solicitação" not in body


def test_charge_email_in_portuguese_says_what_accepting_does(
    mailoutbox, django_capture_on_commit_callbacks
):
    subscription = seed_subscription()
    subscription.subscriber.locale = "pt-BR"
    subscription.subscriber.save()
    _send(
        subscription, "reactivate_and_charge", at(2026, 5, 19), django_capture_on_commit_callbacks
    )
    message = mailoutbox[0]
    for body in (message.body, message.alternatives[0][0]):
        assert "Se você aceitar" in body
        assert "com um novo período de cobrança" in body
        assert "Reativar e cobrar" not in body


def test_nothing_is_sent_before_commit_and_never_twice(
    mailoutbox, django_capture_on_commit_callbacks
):
    subscription = seed_subscription()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request = services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )
    assert mailoutbox == []
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1
    assert reactivation_emails_send(request_ids=[request.pk]) == 0
    assert len(mailoutbox) == 1


def test_superseded_request_is_not_emailed(mailoutbox, django_capture_on_commit_callbacks):
    subscription = seed_subscription()
    with django_capture_on_commit_callbacks(execute=False):
        first = services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )
        services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )
    assert reactivation_emails_send(request_ids=[first.pk]) == 0


def test_resend_issues_a_new_request_and_the_old_link_is_gone(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = seed_subscription()
    first = _send(subscription, "reactivate", at(2026, 4, 18), django_capture_on_commit_callbacks)
    old_token = token_from_last_email()
    with (
        time_machine.travel(at(2026, 4, 19), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        second = services.reactivation_request_resend(
            reactivation_request=first, actor=SUPPORT_ACTOR
        )
    new_token = token_from_last_email()
    assert new_token != old_token and second.pk != first.pk
    first.refresh_from_db()
    assert first.status == "superseded"
    assert second.expires_at == at(2026, 4, 19) + timedelta(hours=72)
    with time_machine.travel(at(2026, 4, 19), tick=False):
        assert client.get(f"/reactivate/{old_token}/").status_code == 410
        assert client.get(f"/reactivate/{new_token}/").status_code == 200


def test_sweep_job_sends_what_the_broker_lost(mailoutbox, django_capture_on_commit_callbacks):
    subscription = seed_subscription()
    with (
        time_machine.travel(at(2026, 4, 18), tick=False),
        django_capture_on_commit_callbacks(execute=False),
    ):  # the broker never got it
        services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )
    with time_machine.travel(at(2026, 4, 18, 15, 1), tick=False):
        assert reactivation_email_sweep() == 0  # too recent: the task may still be queued
    with time_machine.travel(at(2026, 4, 18, 15, 5), tick=False):
        assert reactivation_email_sweep() == 1
    assert len(mailoutbox) == 1


def test_failed_send_releases_the_claim(
    mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    subscription = seed_subscription()
    with django_capture_on_commit_callbacks(execute=False):
        request = services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )

    def broken(messages, **kw):  # type: ignore[no-untyped-def]
        raise ConnectionError("ESP down")

    monkeypatch.setattr("reactivation.email.email_send_many", broken)
    with pytest.raises(ConnectionError):
        reactivation_emails_send(request_ids=[request.pk])
    request.refresh_from_db()
    assert request.emailed_at is None
    monkeypatch.undo()
    assert reactivation_emails_send(request_ids=[request.pk]) == 1
    assert len(mail.outbox) == 1
