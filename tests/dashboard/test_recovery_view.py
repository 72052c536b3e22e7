"""The dashboard's Recovery page (dashboard/recovery_figures.py, views/recovery.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from subscriptions.billing import add_months, local_date
from subscriptions.models import Charge, Status
from tests.factories import ChargeFactory, CreatorFactory, PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "dashboard:recovery"


def late(plan, *, days: int = 10, email: str = ""):  # type: ignore[no-untyped-def]
    """A subscription whose renewal `days` ago was declined, still Payment late."""
    today = local_date(timezone.now(), plan.creator.tz)  # the creator's day, as the page
    anchor = today - timedelta(days=days)
    extra = {"subscriber__email": email} if email else {}
    subscription = SubscriptionFactory(
        plan=plan,
        status=Status.DELAYED,
        billing_anchor=anchor,
        paid_through=anchor,
        next_charge_date=add_months(anchor, 1),
        next_retry_date=today + timedelta(days=2),
        **extra,
    )
    declined(subscription)
    return subscription


def declined(subscription):  # type: ignore[no-untyped-def]
    return ChargeFactory(
        subscription=subscription,
        kind=Charge.Kind.RENEWAL,
        status=Charge.Status.DECLINED,
        period_start=subscription.billing_anchor,
        amount=subscription.plan.price,
        currency=subscription.plan.currency,
    )


def paid_later(subscription, *, attempt: int, page: bool = False):  # type: ignore[no-untyped-def]
    subscription.status = Status.ACTIVE
    subscription.save(update_fields=["status"])
    return ChargeFactory(
        subscription=subscription,
        kind=Charge.Kind.RETRY,
        status=Charge.Status.SUCCEEDED,
        period_start=subscription.billing_anchor,
        attempt=attempt,
        amount=subscription.plan.price,
        currency=subscription.plan.currency,
        idempotency_key=f"sub_{subscription.uuid.hex}_pay1" if page else f"retry-{attempt}-x",
    )


@pytest.fixture
def shop(creator):  # type: ignore[no-untyped-def]
    brl = PlanFactory(creator=creator, product__creator=creator, price=Decimal("50.00"))
    usd = PlanFactory(
        creator=creator, product__creator=creator, price=Decimal("10.00"), currency="USD"
    )
    still_late = late(brl, email="still.late@example.com")
    late(usd)
    by_retry = late(brl)
    paid_later(by_retry, attempt=2)
    by_page = late(brl)
    paid_later(by_page, attempt=1, page=True)
    lost = late(brl)
    lost.status = Status.CANCELLED_BY_ADMIN
    lost.save(update_fields=["status"])
    # Another creator's late subscription is never counted.
    other = CreatorFactory()
    late(PlanFactory(creator=other, product__creator=other, price=Decimal("999")))
    return still_late


def test_the_page_shows_what_is_late_what_came_back_and_how(owner, login, shop):
    html = login(owner).get(reverse(URL)).content.decode()

    assert 'data-figure="overdue-count"' in html
    assert ">2</a></dd>" in html  # two late now: one in BRL, one in USD
    assert 'data-figure="overdue-BRL">R$50.00<' in html
    assert 'data-figure="overdue-USD">$10.00<' in html
    assert 'data-figure="month-recovered">2<' in html  # this month: by retry, by the page
    assert "of 5 failed payments" in html
    assert 'data-figure="month-amount-BRL">R$100.00<' in html
    assert 'data-figure="month-rate">40%<' in html
    assert "2 of 5 failed payments recovered (40%)." in html
    table = html.split('id="recovery-attempts-table"')[1].split("</table>")[0]
    for label, n in [
        ("Recovered at retry 2", 1),
        ("Paid on the payment page", 1),
        ("Still late", 2),
        ("Lost", 1),
    ]:
        assert f'{label}</th><td class="num">{n}</td>' in table
    assert "<svg" in html and "Failed payments of the last 90 days, by outcome" in html
    # The late list: who, how much, since when, next attempt, whether a link was emailed.
    row = html.split(f'id="overdue-{shop.uuid}"')[1].split("</tr>")[0]
    assert "still.late@example.com" in row and "R$50.00" in row
    assert "(10 days)" in row and "Not emailed" in row
    assert "999" not in html


def test_in_portuguese(owner, login, shop):
    client = login(owner)
    client.cookies["django_language"] = "pt-br"
    html = client.get(reverse(URL), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Recuperação de pagamentos" in html
    assert "Recuperado na nova tentativa 2" in html
    assert "de 5 pagamentos com falha" in html
    assert "R$\xa050,00" in html and "40%" in html  # babel: a no-break space


def test_viewers_read_it_and_another_creator_sees_only_their_own(viewer, outsider, login, shop):  # type: ignore[no-untyped-def]
    assert "still.late@example.com" in login(viewer).get(reverse(URL)).content.decode()
    theirs = login(outsider).get(reverse(URL)).content.decode()
    assert "still.late@example.com" not in theirs
    assert "No subscription has a payment late." in theirs


def test_an_empty_shop_says_so(owner, login):
    html = login(owner).get(reverse(URL)).content.decode()
    assert "No subscription has a payment late." in html
    assert "No payment failed in this period." in html


def test_query_count_does_not_grow_with_the_late_subscriptions(owner, login, shop):
    client = login(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(URL)).status_code == 200
        return len(captured)

    few = queries()
    plan = shop.plan
    for _ in range(30):
        late(plan)
    assert queries() == few
