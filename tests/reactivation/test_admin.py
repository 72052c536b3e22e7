"""Support's admin (SPEC §12): list, filters, search, and the actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from reactivation import services
from reactivation.models import ReactivationRequest
from subscriptions.models import Status, Subscription
from tests.factories import TEST_ACTOR, UserFactory
from tests.reactivation.factories import cancelled_subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):  # type: ignore[no-untyped-def]
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_list_filters_search_and_no_token_hash(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = cancelled_subscription()
    with django_capture_on_commit_callbacks(execute=True):
        request = services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=TEST_ACTOR
        )
    request.refresh_from_db()
    url = "/admin/reactivation/reactivationrequest/"
    listing = staff_client.get(
        url, {"status__exact": "pending", "q": subscription.subscriber.email}
    )
    assert listing.status_code == 200
    assert str(request.uuid) in listing.content.decode()
    assert staff_client.get(url, {"q": "not-a-uuid"}).status_code == 200
    detail = staff_client.get(f"{url}{request.pk}/change/").content.decode()
    assert request.token_hash not in detail and "token" not in detail.lower().replace(
        "csrfmiddlewaretoken", ""
    )


def test_subscription_action_sends_for_admin_cancelled_after_choosing_the_mode(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = cancelled_subscription()
    Subscription.objects.filter(pk=subscription.pk).update(status=Status.CANCELLED_BY_ADMIN)
    url = "/admin/subscriptions/subscription/"
    data = {"action": "send_reactivation_request", ACTION_CHECKBOX_NAME: [subscription.pk]}
    intermediate = staff_client.post(url, data)
    assert intermediate.status_code == 200
    assert "reactivate_and_charge" in intermediate.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = staff_client.post(url, {**data, "mode": "reactivate_and_charge"})
    assert done.status_code == 302
    request = ReactivationRequest.objects.get(subscription=subscription)
    assert request.mode == "reactivate_and_charge"
    assert request.requested_by_label.startswith("support: ")
    assert len(mailoutbox) == 1


def test_resend_and_revoke_actions(staff_client, mailoutbox, django_capture_on_commit_callbacks):
    subscription = cancelled_subscription()
    request = services.reactivation_request_create(
        subscription=subscription, mode="reactivate", actor=TEST_ACTOR
    )
    url = "/admin/reactivation/reactivationrequest/"
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {"action": "resend", ACTION_CHECKBOX_NAME: [request.pk]})
    request.refresh_from_db()
    assert request.status == "superseded"
    fresh = ReactivationRequest.objects.get(subscription=subscription, status="pending")
    staff_client.post(url, {"action": "revoke", ACTION_CHECKBOX_NAME: [fresh.pk]})
    fresh.refresh_from_db()
    assert fresh.status == "superseded" and fresh.failure_message.startswith("Revoked by support:")
    assert not ReactivationRequest.objects.filter(status="pending").exists()
