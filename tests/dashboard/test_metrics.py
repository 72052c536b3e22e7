"""The overview's figures (dashboard/metrics.py) and how the page shows them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.metrics import activity_figures, cancellation_reasons, money_figures
from subscriptions.models import Charge, Status
from tests.factories import ChargeFactory, PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

# Wednesday 15 July 2026, 12:00 in São Paulo (the creators' default zone).
NOW = datetime(2026, 7, 15, 15, 0, tzinfo=UTC)


def sub(creator, *, price="49.90", period="monthly", currency="BRL", **kwargs):
    plan = PlanFactory(
        product__creator=creator, price=Decimal(price), period=period, currency=currency
    )
    return SubscriptionFactory(plan=plan, **kwargs)


def test_mrr_counts_every_billed_subscription_per_month(creator):
    sub(creator, price="49.90")  # monthly
    sub(creator, price="120.00", period="yearly")  # 10.00 a month
    sub(creator, price="10.00", period="weekly")  # 10 * 52 / 12 = 43.33
    sub(creator, price="90.00", period="quarterly", status=Status.DELAYED)  # still billed: 30
    sub(creator, price="99.00", status=Status.CANCELLED_BY_CUSTOMER)  # no longer billed
    sub(creator, price="99.00", status=Status.OVERDUE)  # ended
    sub(creator, price="15.00", currency="USD")  # another currency: apart
    money = money_figures(creator=creator, now=NOW)
    assert money.mrr == Decimal("133.23")  # 49.90 + 10.00 + 43.33 + 30.00
    assert money.billing_subscriptions == 4
    assert money.other_currency_subscriptions == 1
    assert money.currency == "BRL"


def test_revenue_this_month_is_what_was_paid_since_the_local_first(creator):
    subscription = sub(creator)
    july_first_local = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # 00:00 in São Paulo
    for when, status, amount, currency in (
        (july_first_local, Charge.Status.SUCCEEDED, "49.90", "BRL"),
        (july_first_local - timedelta(minutes=1), Charge.Status.SUCCEEDED, "49.90", "BRL"),
        (NOW, Charge.Status.SUCCEEDED, "10.00", "BRL"),
        (NOW, Charge.Status.REFUNDED, "70.00", "BRL"),
        (NOW, Charge.Status.DECLINED, "70.00", "BRL"),
        (NOW, Charge.Status.SUCCEEDED, "70.00", "USD"),
    ):
        charge = ChargeFactory(
            subscription=subscription, status=status, amount=Decimal(amount), currency=currency
        )
        Charge.objects.filter(pk=charge.pk).update(created_at=when)
    money = money_figures(creator=creator, now=NOW)
    assert money.revenue_this_month == Decimal("59.90")
    assert money.charges_this_month == 2


def test_active_over_time_and_churn(creator):
    may = datetime(2026, 5, 10, 15, 0, tzinfo=UTC)
    # Active since May.
    sub(creator, started_at=may)
    # Started in May, cancelled on 20 June: active at the end of May only.
    sub(
        creator,
        started_at=may,
        status=Status.CANCELLED_BY_SELLER,
        cancelled_at=datetime(2026, 6, 20, 15, 0, tzinfo=UTC),
    )
    # Started in May, cancelled on 10 July: active at the ends of May and June; churned
    # in the last 30 days.
    sub(
        creator,
        started_at=may,
        status=Status.CANCELLED_BY_CUSTOMER,
        cancelled_at=datetime(2026, 7, 10, 15, 0, tzinfo=UTC),
    )
    # Ended normally: its last period ended on 31 May, so it no longer counts at the
    # month's end (1 June, 00:00).
    sub(creator, started_at=may, status=Status.OVERDUE, paid_through=date(2026, 5, 31))
    # Never active.
    sub(creator, started_at=may, status=Status.INACTIVE)
    data = activity_figures(creator=creator, now=NOW)
    assert len(data.month_ends) == 12
    assert data.month_ends[-1] == NOW
    # Ends of April, May, June, and today.
    assert data.active[-4:] == [0, 3, 2, 1]
    # Active on 15 June: three (the ended one stopped on 31 May); one cancelled since.
    assert data.active_at_window_start == 3
    assert data.cancelled_in_window == 2
    assert data.churn_rate == pytest.approx(2 / 3)


def test_cancellation_reasons_most_frequent_first(creator):
    for reason, n in (("Too expensive", 3), ("", 2), ("Moved", 1), ("Bored", 1)):
        for _ in range(n):
            sub(
                creator,
                status=Status.CANCELLED_BY_CUSTOMER,
                cancelled_at=NOW - timedelta(days=5),
                cancellation_reason=reason,
            )
    reasons = cancellation_reasons(creator=creator, now=NOW, top=3)
    assert reasons.rows == [("Too expensive", 3), ("", 2), ("Bored", 1)]
    assert reasons.other == 1


def overview_queries(client):
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dashboard:overview"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_overview_shows_money_and_charts_with_a_fixed_number_of_queries(creator, owner, login):
    client = login(owner)
    sub(creator, price="49.90")
    one, _html = overview_queries(client)
    plan = PlanFactory(product__creator=creator, price=Decimal("100.00"), period="yearly")
    for i in range(49):
        s = SubscriptionFactory(plan=plan)
        ChargeFactory(subscription=s, amount=Decimal("100.00"))
        if i % 7 == 0:
            s.status = Status.CANCELLED_BY_CUSTOMER
            s.cancelled_at = s.started_at + timedelta(minutes=1)
            s.cancellation_reason = "Too expensive"
            s.save()
    count, html = overview_queries(client)
    assert count == one
    # 49.90 + 42 yearly plans still billed at 100.00 / 12 (350.00).
    assert 'data-figure="mrr">R$399.90<' in html
    assert 'data-figure="revenue">R$4,900.00<' in html
    for chart in ("chart-active", "chart-cancellations", "chart-reasons", "chart-funnel"):
        assert f'id="{chart}" role="img" aria-labelledby="{chart}-title {chart}-desc"' in html
    assert "Too expensive" in html
    # Served from the cache within the minute: only the live sections query.
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("dashboard:overview"))
    assert len(ctx.captured_queries) < count


def test_overview_in_portuguese_formats_money_for_brazil(creator, owner, login):
    sub(creator, price="1249.90")
    client = login(owner)
    client.cookies["django_language"] = "pt-br"
    _count, html = overview_queries(client)
    assert re.search(r'data-figure="mrr">R\$\xa01\.249,90<', html)
    assert "Receita recorrente mensal" in html
