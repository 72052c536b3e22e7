"""The Coupons page: create (with the service's checks shown on the form), the list, and
switching one off; the charge table shows a discount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from subscriptions.models import Coupon
from tests.factories import ChargeFactory, PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_create_list_and_switch_off(creator, owner, viewer, login):
    plan = PlanFactory(product__creator=creator, creator=creator, name="Mensal")
    client = login(owner)
    url = reverse("dashboard:coupons")
    assert login(viewer).post(url, {"code": "X"}).status_code == 403
    bad = client.post(
        url, {"code": "bad code!", "kind": "percent", "value": "10", "duration": "once"}
    )
    assert bad.status_code == 400
    too_much = client.post(
        url, {"code": "BIG", "kind": "percent", "value": "150", "duration": "once"}
    )
    assert too_much.status_code == 400
    assert "A percent off is from 0.01 to 100." in too_much.content.decode()
    no_periods = client.post(
        url, {"code": "REP", "kind": "percent", "value": "10", "duration": "repeating"}
    )
    assert no_periods.status_code == 400
    created = client.post(
        url,
        {"code": "welcome20", "kind": "percent", "value": "20", "duration": "repeating",
         "duration_periods": "3", "max_redemptions": "100", "plans": [plan.pk]},
        follow=True,
    )  # fmt: skip
    page = created.content.decode()
    assert "Coupon WELCOME20 created." in page
    assert "WELCOME20" in page and "3 periods" in page and "0 / 100" in page and "Mensal" in page
    coupon = Coupon.objects.get(creator=creator, code="WELCOME20")
    assert client.post(url, {"code": "WELCOME20", "kind": "percent", "value": "5",
                             "duration": "once"}).status_code == 400  # fmt: skip
    off = client.post(reverse("dashboard:coupon_deactivate", args=[coupon.uuid]), follow=True)
    assert "Coupon WELCOME20 switched off" in off.content.decode()
    coupon.refresh_from_db()
    assert coupon.is_active is False


def test_the_charges_table_shows_the_discount(creator, owner, login):
    sub = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    coupon = Coupon.objects.create(
        creator=creator, code="HALF", kind="percent", percent_off=Decimal(50), duration="once"
    )
    ChargeFactory(
        subscription=sub, amount=Decimal("24.95"), discount=Decimal("24.95"), coupon=coupon
    )
    page = login(owner).get(reverse("dashboard:subscription_detail", args=[sub.uuid]))
    assert "(HALF)" in page.content.decode()
