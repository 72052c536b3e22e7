"""The subscriber's payment page `/pay/<token>/` (SPEC §4.6)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from subscriptions import renewals
from subscriptions.models import Charge, Status
from tests.recovery.conftest import at, declined_renewal, process_events, token_from_last_email

pytestmark = pytest.mark.django_db


def _page(token: str) -> str:
    return f"/pay/{token}/"


def test_get_shows_what_is_due_and_changes_nothing():
    sub = declined_renewal()
    token = token_from_last_email()
    client = Client()
    with at(date(2026, 2, 10)), CaptureQueriesContext(connection) as queries:
        responses = [client.get(_page(token)) for _ in range(5)] + [client.head(_page(token))]
    assert {r.status_code for r in responses} == {200}
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    page = responses[0]
    body = page.content.decode()
    assert sub.plan.product.name in body
    assert "49.90 BRL" in body
    assert "We will try the card on file again on Feb. 11, 2026." in body
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "no-store"


def test_paying_with_a_working_card_reactivates_on_the_original_anchor():
    sub = declined_renewal()
    token = token_from_last_email()
    with at(date(2026, 2, 12)):
        response = Client().post(_page(token), {"payment_method": "pm_sandbox_ok"})
    assert response.status_code == 200
    assert "Your subscription to" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
    assert sub.billing_anchor == date(2026, 1, 10)
    assert sub.paid_through == sub.next_charge_date == date(2026, 3, 10)
    assert (sub.next_retry_date, sub.retry_attempt, sub.payment_method) == (
        None,
        0,
        "pm_sandbox_ok",
    )
    succeeded = Charge.objects.filter(subscription=sub, status="succeeded")
    assert [(c.kind, c.period_start) for c in succeeded] == [("retry", date(2026, 2, 10))]
    types = list(sub.events.order_by("occurred_at", "id").values_list("type", flat=True))
    assert types[-4:] == [
        "charge.succeeded",
        "payment_method.updated",
        "subscription.status_changed",
        "subscription.recovered",
    ]
    # The retry days pass without a charge; the link now says it is paid.
    with at(date(2026, 2, 13)):
        renewals.retries_run()
    assert Charge.objects.filter(subscription=sub).count() == 2
    gone = Client().get(_page(token))
    assert gone.status_code == 410 and "Payment received" in gone.content.decode()


def test_a_declined_card_on_the_page_changes_nothing_and_says_why():
    sub = declined_renewal()
    token = token_from_last_email()
    with at(date(2026, 2, 12)):
        response = Client().post(_page(token), {"payment_method": "pm_sandbox_insufficient_funds"})
    assert response.status_code == 200
    assert "The payment was not approved" in response.content.decode()
    sub.refresh_from_db()
    assert (sub.status, sub.payment_method) == (Status.DELAYED, "pm_sandbox_declined")
    # The subscriber is on the page: no second email for this attempt.
    process_events(sub)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("method", ["", "not-a-method", "x" * 500])
def test_bad_payment_method_is_a_clear_400(method):
    declined_renewal()
    with at(date(2026, 2, 12)):
        response = Client().post(_page(token_from_last_email()), {"payment_method": method})
    assert response.status_code == 400
    assert Charge.objects.count() == 1


def test_unknown_or_tampered_token_is_404():
    declined_renewal()
    token = token_from_last_email()
    assert Client().get(_page(token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 404
    assert Client().get(_page("short")).status_code == 404


def test_link_expires_when_the_unpaid_period_ends():
    declined_renewal()
    token = token_from_last_email()
    with at(date(2026, 3, 9)):
        assert Client().get(_page(token)).status_code == 200
    with at(date(2026, 3, 10)):
        response = Client().get(_page(token))
    assert response.status_code == 410


def test_cancelled_subscription_link_is_closed():
    from subscriptions.services import subscription_cancel
    from tests.factories import actor_for

    sub = declined_renewal()
    token = token_from_last_email()
    subscription_cancel(subscription=sub, actor=actor_for("seller"))
    with at(date(2026, 2, 12)):
        response = Client().post(_page(token), {"payment_method": "pm_sandbox_ok"})
    assert response.status_code == 410
    assert Charge.objects.filter(status="succeeded").count() == 0


@pytest.mark.redis
def test_the_link_is_rate_limited_like_the_other_subscriber_links(settings):
    from django.core.cache import cache

    cache.clear()
    settings.PAYMENT_LINK_RATE_LIMIT = 3
    declined_renewal()
    token = token_from_last_email()
    client = Client()
    with at(date(2026, 2, 12)):
        statuses = [client.get(_page(token)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
