"""The per-product payment recovery settings (dashboard/views/recovery.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from subscriptions.models import RecoveryPolicy
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _queries(client, url):  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_settings_lists_every_product_with_its_policy_in_a_fixed_number_of_queries(
    creator, owner, login
):
    client = login(owner)
    url = reverse("dashboard:settings")
    first = ProductFactory(creator=creator, name="Alpha course")
    RecoveryPolicy.objects.create(creator=creator, product=first, retry_schedule=[2, 9])
    one = _queries(client, url)
    for i in range(20):
        product = ProductFactory(creator=creator, name=f"Course {i}")
        RecoveryPolicy.objects.create(creator=creator, product=product, final_action="cancel")
    assert _queries(client, url) == one
    body = client.get(url).content.decode()
    assert "Alpha course" in body and "2, 9" in body and "Course 19" in body


def test_owner_saves_a_policy_and_bad_days_are_refused(creator, owner, login):
    product = ProductFactory(creator=creator)
    url = reverse("dashboard:recovery_policy", kwargs={"uuid": product.uuid})
    client = login(owner)
    ok = client.post(
        url,
        {
            "retry_schedule": "1; 4",
            "final_action": "cancel",
            "send_payment_failed_email": "on",
            "payment_failed_message": "  Please update your card.  ",
        },
    )
    assert ok.status_code == 302
    policy = RecoveryPolicy.objects.get(product=product)
    assert (policy.retry_schedule, policy.final_action, policy.access_while_retrying) == (
        [1, 4],
        "cancel",
        False,
    )
    assert policy.payment_failed_message == "Please update your card."
    for days in ("3, 1", "0", "a, b", "61"):
        refused = client.post(url, {"retry_schedule": days, "final_action": "cancel"})
        assert refused.status_code == 400, days
        assert "errorlist" in refused.content.decode()
    assert RecoveryPolicy.objects.get(product=product).retry_schedule == [1, 4]
    empty = client.post(url, {"retry_schedule": "", "final_action": "leave_unpaid"})
    assert empty.status_code == 302
    assert RecoveryPolicy.objects.get(product=product).retry_schedule is None


def test_unknown_final_action_is_a_form_error(creator, owner, login):
    product = ProductFactory(creator=creator)
    url = reverse("dashboard:recovery_policy", kwargs={"uuid": product.uuid})
    response = login(owner).post(url, {"final_action": "explode"})
    assert response.status_code == 400
    assert not RecoveryPolicy.objects.exists()
