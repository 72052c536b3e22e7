"""The seed article's three examples, literally, through the API and the subscriber page.

Billing day 10; subscription cancelled April 15 (paid through May 10).
- accepted April 20 → next charge still May 10, nothing charged;
- reactivated May 20 → next charge June 20, nothing charged;
- reactivated and charged May 20 → charged May 20, next charge June 20.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from reactivation.models import ReactivationRequest
from subscriptions.models import Charge, Status
from tests.api_helpers import api_client
from tests.reactivation.factories import at, page_url, seed_subscription, token_from_last_email

pytestmark = pytest.mark.django_db


def _request_through_api(subscription, mode, when, capture):  # type: ignore[no-untyped-def]
    client = api_client(subscription.creator)
    with time_machine.travel(when, tick=False), capture(execute=True):
        response = client.post(
            f"/api/v1/subscriptions/{subscription.uuid}/reactivation-requests",
            {"mode": mode},
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["mode"] == mode
    assert body["subscription"] == str(subscription.uuid)
    return body


def _accept(client, token, when, capture):  # type: ignore[no-untyped-def]
    with time_machine.travel(when, tick=False), capture(execute=True):
        return client.post(page_url(token), {"decision": "accept"})


@pytest.mark.parametrize("mode", ["reactivate", "reactivate_and_charge"])
def test_accepted_april_20_keeps_next_charge_may_10(
    mode, client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = seed_subscription()
    _request_through_api(subscription, mode, at(2026, 4, 18), django_capture_on_commit_callbacks)
    token = token_from_last_email(subscription.subscriber.email)

    response = _accept(client, token, at(2026, 4, 20), django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert "active again" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert subscription.billing_anchor == date(2026, 3, 10)
    assert subscription.next_charge_date == date(2026, 5, 10)
    assert subscription.paid_through == date(2026, 5, 10)
    assert subscription.cancelled_at is None and subscription.cancellation_source == ""
    assert not Charge.objects.filter(subscription=subscription, kind="reactivation").exists()
    reactivated = subscription.events.get(type="subscription.reactivated")
    assert reactivated.data["mode"] == mode and reactivated.data["same_cycle"] is True
    # The cancellation stays in the history.
    assert subscription.events.filter(
        type="subscription.status_changed", data__to=Status.CANCELLED_BY_SELLER
    ).exists()


def test_reactivated_may_20_next_charge_june_20_without_charge(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = seed_subscription()
    _request_through_api(
        subscription, "reactivate", at(2026, 5, 19), django_capture_on_commit_callbacks
    )
    token = token_from_last_email()

    response = _accept(client, token, at(2026, 5, 20), django_capture_on_commit_callbacks)

    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert subscription.billing_anchor == date(2026, 5, 20)
    assert subscription.next_charge_date == date(2026, 6, 20)
    assert subscription.paid_through == date(2026, 6, 20)
    assert not Charge.objects.filter(subscription=subscription, kind="reactivation").exists()
    event = subscription.events.get(type="subscription.reactivated")
    assert event.data["same_cycle"] is False


def test_reactivated_and_charged_may_20_charges_may_20_next_charge_june_20(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = seed_subscription()
    _request_through_api(
        subscription, "reactivate_and_charge", at(2026, 5, 19), django_capture_on_commit_callbacks
    )
    token = token_from_last_email()
    with time_machine.travel(at(2026, 5, 20), tick=False):
        shown = client.get(page_url(token)).content.decode()
    assert "49.90 BRL will be charged today" in shown

    response = _accept(client, token, at(2026, 5, 20), django_capture_on_commit_callbacks)

    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert subscription.billing_anchor == date(2026, 5, 20)
    assert subscription.next_charge_date == subscription.paid_through == date(2026, 6, 20)
    charge = Charge.objects.get(subscription=subscription, kind="reactivation")
    assert charge.status == "succeeded"
    assert charge.amount == Decimal("49.90")
    assert (charge.period_start, charge.period_end) == (date(2026, 5, 20), date(2026, 6, 20))
    request = ReactivationRequest.objects.get(subscription=subscription)
    assert request.status == "accepted" and request.charge == charge
    types = list(subscription.events.values_list("type", flat=True))
    assert types[-4:] == [
        "charge.succeeded",
        "reactivation.accepted",
        "subscription.status_changed",
        "subscription.reactivated",
    ]
    # The API shows the outcome too.
    client_api = api_client(subscription.creator)
    shown_api = client_api.get(f"/api/v1/reactivation-requests/{request.uuid}").json()
    assert shown_api["status"] == "accepted"
