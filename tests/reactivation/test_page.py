"""The subscriber's page `/reactivate/<token>/` (SPEC §6.2)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reactivation import services
from reactivation.jobs import reactivation_expire
from reactivation.models import ReactivationRequest
from subscriptions.models import Charge, Status, Subscription, SubscriptionEvent
from tests.factories import SUPPORT_ACTOR, TEST_ACTOR, labelled_actor
from tests.reactivation.factories import (
    at,
    cancelled_subscription,
    page_url,
    reload,
    seed_subscription,
    token_from_last_email,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(mailoutbox, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Send a request and return (request, token) taken from the email."""

    def send(subscription=None, mode="reactivate", when=None):  # type: ignore[no-untyped-def]
        subscription = subscription or seed_subscription()
        with (
            time_machine.travel(when or at(2026, 4, 18), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            request = services.reactivation_request_create(
                subscription=subscription, mode=mode, actor=labelled_actor("test")
            )
        return request, token_from_last_email(subscription.subscriber.email)

    return send


def _db_state():  # type: ignore[no-untyped-def]
    return (
        list(ReactivationRequest.objects.order_by("pk").values()),
        list(Subscription.objects.order_by("pk").values()),
        SubscriptionEvent.objects.count(),
        Charge.objects.count(),
    )


def test_get_shows_the_request_and_changes_nothing(client, sent):
    request, token = sent(mode="reactivate_and_charge")
    before = _db_state()
    with (
        time_machine.travel(at(2026, 4, 19), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get(page_url(token))
    assert response.status_code == 200
    body = response.content.decode()
    assert request.subscription.plan.product.name in body
    # What happens, in the subscriber's words, not the internal mode's name.
    assert "Reactivate and charge" not in body
    assert "active again right away and keeps its billing dates" in body
    # April 19 is inside the paid cycle: nothing today, next charge stays May 10.
    assert "Your next charge stays on May 10, 2026" in body
    assert "America/Sao_Paulo" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'value="accept"' in body and 'value="reject"' in body
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    assert "http://" not in body.replace("http://testserver", "") and "https://" not in body
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert writes == []
    assert _db_state() == before


def test_link_is_valid_one_second_before_72_hours_and_gone_at_72_hours(client, sent):
    request, token = sent()
    created = request.created_at
    with time_machine.travel(created + timedelta(hours=72) - timedelta(minutes=1), tick=False):
        assert client.get(page_url(token)).status_code == 200
    with time_machine.travel(created + timedelta(hours=72) - timedelta(seconds=1), tick=False):
        assert client.get(page_url(token)).status_code == 200
    with time_machine.travel(created + timedelta(hours=72), tick=False):
        response = client.get(page_url(token))
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        # Opened late and swept by the job at the same time: recorded once.
        assert reactivation_expire() == 0
        assert client.post(page_url(token), {"decision": "accept"}).status_code == 410
    assert reload(request).status == "expired"
    assert request.subscription.events.filter(type="reactivation.expired").count() == 1
    assert reload(request).subscription.status == Status.CANCELLED_BY_SELLER


def test_accept_one_second_before_expiry_works(client, sent):
    request, token = sent()
    with time_machine.travel(request.expires_at - timedelta(seconds=1), tick=False):
        response = client.post(page_url(token), {"decision": "accept"})
    assert response.status_code == 200
    assert reload(request).status == "accepted"


def test_periodic_job_expires_exactly_once(client, sent):
    request, token = sent()
    with time_machine.travel(request.expires_at, tick=False):
        assert reactivation_expire() == 1
        assert reactivation_expire() == 0
        assert client.get(page_url(token)).status_code == 410
    assert request.subscription.events.filter(type="reactivation.expired").count() == 1


def test_link_works_once(client, sent):
    request, token = sent()
    with time_machine.travel(at(2026, 4, 20), tick=False):
        assert client.post(page_url(token), {"decision": "accept"}).status_code == 200
        again = client.post(page_url(token), {"decision": "accept"})
        shown = client.get(page_url(token))
    assert again.status_code == 410 and shown.status_code == 410
    assert "already accepted" in shown.content.decode()
    assert request.subscription.events.filter(type="subscription.reactivated").count() == 1


def test_reject_changes_nothing_but_the_request(client, sent):
    request, token = sent()
    with time_machine.travel(at(2026, 4, 20), tick=False):
        response = client.post(page_url(token), {"decision": "reject"})
    assert response.status_code == 200
    assert reload(request).status == "rejected"
    subscription = Subscription.objects.get(pk=request.subscription_id)
    assert subscription.status == Status.CANCELLED_BY_SELLER
    assert subscription.events.filter(type="reactivation.rejected").count() == 1
    with time_machine.travel(at(2026, 4, 20), tick=False):
        assert client.get(page_url(token)).status_code == 410


def test_new_request_supersedes_the_pending_one(client, sent):
    first, first_token = sent()
    _second, second_token = sent(subscription=first.subscription, mode="reactivate_and_charge")
    assert reload(first).status == "superseded"
    assert first_token != second_token
    with time_machine.travel(at(2026, 4, 19), tick=False):
        old = client.get(page_url(first_token))
        new = client.get(page_url(second_token))
    assert old.status_code == 410 and "replaced by a newer request" in old.content.decode()
    assert new.status_code == 200
    assert (
        ReactivationRequest.objects.filter(
            subscription=first.subscription, status="pending"
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well formed, unknown
        "short",
        "x" * 44,
        "A" * 42 + "%",
    ],
)
def test_unknown_or_tampered_token_is_404(client, sent, token):
    sent()
    response = client.get(page_url(token))
    assert response.status_code == 404
    assert response["Referrer-Policy"] == "no-referrer"


def test_tampered_real_token_is_404(client, sent):
    _, token = sent()
    tampered = ("B" if token[0] != "B" else "C") + token[1:]
    with time_machine.travel(at(2026, 4, 19), tick=False):
        assert client.get(page_url(tampered)).status_code == 404


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": ""}])
def test_invalid_decision_is_400_and_changes_nothing(client, sent, body):
    request, token = sent()
    with time_machine.travel(at(2026, 4, 19), tick=False):
        response = client.post(page_url(token), body)
    assert response.status_code == 400
    assert reload(request).status == "pending"


def test_post_needs_the_csrf_token(sent):
    from django.test import Client

    _, token = sent()
    strict = Client(enforce_csrf_checks=True)
    with time_machine.travel(at(2026, 4, 19), tick=False):
        assert strict.post(page_url(token), {"decision": "accept"}).status_code == 403
        page = strict.get(page_url(token))
        csrf = page.cookies["csrftoken"].value
        # Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` over HTTPS
        # with no Referer: the token alone decides.
        answer = strict.post(
            page_url(token),
            {"decision": "reject", "csrfmiddlewaretoken": csrf},
            secure=True,
            HTTP_ORIGIN="null",
        )
    assert answer.status_code == 200
    assert answer["Referrer-Policy"] == "no-referrer"


def test_declined_charge_keeps_the_subscription_cancelled_and_says_why(client, sent):
    subscription = seed_subscription()
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_sandbox_declined")
    request, token = sent(
        subscription=subscription, mode="reactivate_and_charge", when=at(2026, 5, 19)
    )
    with time_machine.travel(at(2026, 5, 20), tick=False):
        response = client.post(page_url(token), {"decision": "accept"})
        later = client.get(page_url(token))
    body = response.content.decode()
    assert response.status_code == 200
    assert "still cancelled" in body and "The card was declined." in body
    request = reload(request)
    assert request.status == "failed" and request.failure_message == "The card was declined."
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELLED_BY_SELLER
    assert subscription.next_charge_date is None
    assert Charge.objects.get(subscription=subscription).status == "declined"
    assert subscription.events.filter(type="reactivation.failed").count() == 1
    assert not subscription.events.filter(type="subscription.reactivated").exists()
    assert later.status_code == 410 and "The card was declined." in later.content.decode()


def test_transient_gateway_error_keeps_the_request_open_and_retries_with_the_same_key(client, sent):
    subscription = seed_subscription()
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_sandbox_error")
    request, token = sent(
        subscription=subscription, mode="reactivate_and_charge", when=at(2026, 5, 19)
    )
    with time_machine.travel(at(2026, 5, 20), tick=False):
        response = client.post(page_url(token), {"decision": "accept"})
    assert response.status_code == 503
    assert "nothing was charged" in response.content.decode()
    assert reload(request).status == "pending"
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_sandbox_ok")
    with time_machine.travel(at(2026, 5, 20, 16), tick=False):
        assert client.post(page_url(token), {"decision": "accept"}).status_code == 200
    charges = Charge.objects.filter(subscription=subscription)
    assert charges.count() == 1 and charges.get().status == "succeeded"


def test_outside_the_cycle_the_page_says_a_new_period_starts(client, sent):
    """May 20 is after the paid-through date (May 10): the seed's reactivate-and-charge
    example, a new period from the day of acceptance."""
    subscription = seed_subscription()
    _, token = sent(subscription=subscription, mode="reactivate_and_charge", when=at(2026, 5, 19))
    with time_machine.travel(at(2026, 5, 20), tick=False):
        body = client.get(page_url(token)).content.decode()
    assert "active again right away, with a new billing period starting today" in body
    assert "will be charged today" in body
    assert "Reactivate and charge" not in body


def test_page_speaks_the_subscribers_language(client, sent):
    subscription = seed_subscription()
    subscription.subscriber.locale = "pt-BR"
    subscription.subscriber.save()
    _, token = sent(subscription=subscription)
    with time_machine.travel(at(2026, 4, 19), tick=False):
        body = client.get(page_url(token)).content.decode()
    assert 'lang="pt-br"' in body
    assert "Reativar" in body or "reativar" in body


def test_token_never_reaches_the_logs(client, sent, caplog):
    _, token = sent()
    with (
        caplog.at_level(logging.WARNING, logger="django.request"),
        time_machine.travel(at(2026, 4, 19), tick=False),
    ):
        client.post(page_url(token), {"decision": "nope"})  # 400 is logged by Django
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/reactivate/[token]/" in logged
    assert token not in logged


def test_admin_cancelled_refused_for_creators_but_support_may_send(sent):
    subscription = cancelled_subscription()
    type(subscription).objects.filter(pk=subscription.pk).update(status=Status.CANCELLED_BY_ADMIN)
    subscription.refresh_from_db()
    from core.errors import Conflict

    with pytest.raises(Conflict) as refused:
        services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )
    assert refused.value.code == "admin_cancelled"
    request = services.reactivation_request_create(
        subscription=subscription, mode="reactivate", actor=SUPPORT_ACTOR
    )
    assert request.status == "pending"
