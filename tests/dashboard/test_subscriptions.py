from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.bulk import BulkAction, register_bulk_action, unregister_bulk_action
from subscriptions.models import Status
from tests.factories import PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def make_subscriptions(creator, n, **kwargs):
    plan = kwargs.pop("plan", None) or PlanFactory(product__creator=creator, creator=creator)
    return [SubscriptionFactory(creator=creator, plan=plan, **kwargs) for _ in range(n)]


def page_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_is_the_same_for_1_and_50_rows(creator, owner, login):
    client = login(owner)
    url = reverse("dashboard:subscriptions")
    make_subscriptions(creator, 1)
    one = page_queries(client, url)
    make_subscriptions(creator, 49)
    fifty = page_queries(client, url)
    assert one == fifty
    assert fifty <= 8


@pytest.mark.parametrize("page_name", ["team", "api_keys", "coupons"])
def test_other_list_pages_query_count_is_the_same_for_1_and_50_rows(
    page_name, creator, owner, login
):
    from accounts.services import api_key_create
    from tests.factories import MembershipFactory

    client = login(owner)
    url = reverse(f"dashboard:{page_name}")
    api_key_create(creator=creator, created_by=owner)
    _coupon(creator, 0)
    one = page_queries(client, url)
    for n in range(1, 50):
        api_key_create(creator=creator, created_by=owner)
        MembershipFactory(creator=creator, role="viewer")
        _coupon(creator, n)
    assert page_queries(client, url) == one


def _coupon(creator, n):  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from subscriptions.coupons import coupon_create

    plan = PlanFactory(product__creator=creator, creator=creator)
    return coupon_create(
        creator=creator, code=f"C{n}", kind="percent", value=Decimal(5), duration="once",
        plans=[plan],
    )  # fmt: skip


def test_filters_by_status_and_email(creator, owner, login):
    active = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    cancelled = SubscriptionFactory(
        creator=creator,
        plan__product__creator=creator,
        status=Status.CANCELLED_BY_CUSTOMER,
        cancellation_source="customer",
    )
    client = login(owner)
    html = client.get(
        reverse("dashboard:subscriptions"), {"status": "CANCELLED_BY_CUSTOMER"}
    ).content.decode()
    assert cancelled.subscriber.email in html and active.subscriber.email not in html
    html = client.get(
        reverse("dashboard:subscriptions"), {"cancellation_source": "customer"}
    ).content.decode()
    assert cancelled.subscriber.email in html and active.subscriber.email not in html
    html = client.get(
        reverse("dashboard:subscriptions"), {"email": active.subscriber.email.upper()[:12]}
    ).content.decode()
    assert active.subscriber.email in html


def test_filters_by_product_and_plan(creator, owner, login):
    plan_a = PlanFactory(product__creator=creator, creator=creator, name="Gold")
    plan_b = PlanFactory(product__creator=creator, creator=creator, name="Silver")
    a = SubscriptionFactory(creator=creator, plan=plan_a)
    b = SubscriptionFactory(creator=creator, plan=plan_b)
    client = login(owner)
    html = client.get(
        reverse("dashboard:subscriptions"), {"plan": str(plan_a.uuid)}
    ).content.decode()
    assert a.subscriber.email in html and b.subscriber.email not in html
    html = client.get(
        reverse("dashboard:subscriptions"), {"product": str(plan_b.product.uuid)}
    ).content.decode()
    assert b.subscriber.email in html and a.subscriber.email not in html


def test_bad_filter_values_are_ignored_not_500(creator, owner, login):
    SubscriptionFactory(creator=creator, plan__product__creator=creator)
    response = login(owner).get(
        reverse("dashboard:subscriptions"),
        {"status": "NOPE", "plan": "not-a-uuid", "sort": "evil", "cursor": "%%%"},
    )
    assert response.status_code == 200


def test_keyset_pagination_walks_every_row_once_both_ways(creator, owner, login, monkeypatch):
    from dashboard.views import subscriptions as views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    rows = make_subscriptions(creator, 7)
    # Ties on the sort value: the uuid tie-breaker must still give a total order.
    for i, s in enumerate(rows):
        s.next_charge_date = None if i % 3 == 0 else timezone.localdate() + timedelta(days=i % 2)
        s.save()
    client = login(owner)
    for sort in ["-created", "next_charge", "-next_charge", "email"]:
        seen, cursor, pages = [], None, []
        while True:
            params = {"sort": sort} | ({"cursor": cursor} if cursor else {})
            page = client.get(reverse("dashboard:subscriptions"), params).context["page"]
            pages.append([s.uuid for s in page.rows])
            seen += [s.uuid for s in page.rows]
            cursor = page.next_cursor
            if not cursor:
                break
        assert sorted(seen) == sorted(s.uuid for s in rows), sort
        by_uuid = {s.uuid: s for s in rows}
        emails = [by_uuid[u].subscriber.email for u in seen]
        dates = [by_uuid[u].next_charge_date for u in seen]
        if sort == "email":
            assert emails == sorted(emails)
        if sort == "next_charge":
            present = [d for d in dates if d is not None]
            assert dates == [*sorted(present), None, None, None]
        if sort == "-next_charge":
            present = [d for d in dates if d is not None]
            assert dates == [*sorted(present, reverse=True), None, None, None]
        assert len(pages) == 3
        # And back from the last page with "previous".
        cursor = page.previous_cursor
        back = client.get(reverse("dashboard:subscriptions"), {"sort": sort, "cursor": cursor})
        assert [s.uuid for s in back.context["page"].rows] == pages[1], sort


def test_count_is_loaded_separately(creator, owner, login):
    make_subscriptions(creator, 3)
    make_subscriptions(creator, 2, status=Status.DELAYED)
    client = login(owner)
    html = client.get(reverse("dashboard:subscriptions")).content.decode()
    assert "Counting matching subscriptions" in html
    response = client.get(reverse("dashboard:subscriptions_count"), {"status": "DELAYED"})
    assert 'data-count="2"' in response.content.decode()
    assert "2 subscriptions match." in response.content.decode()


@pytest.fixture
def recording_bulk_action():
    calls = []

    def handler(request, selection):
        calls.append(sorted(s.subscriber.email for s in selection.subscriptions()))
        return HttpResponse("handled", status=202)

    register_bulk_action(BulkAction(name="record", label="Record", handler=handler))
    yield calls
    unregister_bulk_action("record")


def test_no_checkboxes_without_a_registered_bulk_action(creator, owner, login):
    from dashboard.bulk import bulk_actions

    registered = bulk_actions()
    for action in registered:
        unregister_bulk_action(action.name)
    try:
        make_subscriptions(creator, 1)
        html = login(owner).get(reverse("dashboard:subscriptions")).content.decode()
        assert 'name="subscription"' not in html
    finally:
        for action in registered:
            register_bulk_action(action)


def test_bulk_selection_of_ticked_rows_and_all_matching(
    creator, owner, viewer, login, recording_bulk_action
):
    plan = PlanFactory(product__creator=creator, creator=creator)
    a, b = make_subscriptions(creator, 2, plan=plan)
    (c,) = make_subscriptions(creator, 1, plan=plan, status=Status.DELAYED)
    elsewhere = SubscriptionFactory()  # another tenant: never selected
    client = login(owner)
    html = client.get(reverse("dashboard:subscriptions")).content.decode()
    assert 'name="subscription"' in html and 'id="bulk-action"' in html
    count = client.get(reverse("dashboard:subscriptions_count")).content.decode()
    assert 'id="select-all-matching"' in count
    assert "Select all 3 matching subscriptions" in count
    url = reverse("dashboard:subscriptions_bulk")
    response = client.post(
        url,
        {"action": "record", "subscription": [str(a.uuid), str(elsewhere.uuid)]},
    )
    assert response.status_code == 202
    response = client.post(url, {"action": "record", "all_matching": "1", "status": "ACTIVE"})
    assert recording_bulk_action == [
        [a.subscriber.email],
        sorted([a.subscriber.email, b.subscriber.email]),
    ]
    assert c.subscriber.email not in recording_bulk_action[1]
    assert (
        'name="subscription"'
        not in login(viewer).get(reverse("dashboard:subscriptions")).content.decode()
    )


def test_bulk_without_selection_or_action_explains(creator, owner, login, recording_bulk_action):
    client = login(owner)
    response = client.post(
        reverse("dashboard:subscriptions_bulk"), {"action": "record"}, follow=True
    )
    assert "Select at least one subscription." in response.content.decode()
    response = client.post(reverse("dashboard:subscriptions_bulk"), {"action": "nope"}, follow=True)
    assert "Choose an action." in response.content.decode()
    assert recording_bulk_action == []


def test_bulk_without_selection_keeps_the_filters(creator, owner, login, recording_bulk_action):
    filters = {
        "status": ["CANCELLED_BY_SELLER", "CANCELLED_BY_CUSTOMER"],
        "email": "rocha",
        "sort": "email",
    }
    client = login(owner)
    for action in ("record", ""):
        response = client.post(
            reverse("dashboard:subscriptions_bulk"), {"action": action, **filters, "cursor": "x"}
        )
        assert response.status_code == 302
        page = client.get(response["Location"])
        form = page.context["form"]
        assert form.data.getlist("status") == filters["status"]
        assert (form.data["email"], form.data["sort"]) == ("rocha", "email")
        assert "cursor" not in response["Location"]
    assert recording_bulk_action == []


def test_seller_cancel_with_reason(creator, manager, login):
    subscription = make_subscriptions(creator, 1)[0]
    client = login(manager)
    url = reverse("dashboard:subscription_cancel", args=[subscription.uuid])
    response = client.post(url, {"reason": "fraud", "details": "stolen card"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELLED_BY_SELLER
    assert subscription.cancellation_source == "seller"
    assert subscription.cancellation_reason == "Suspected fraud: stolen card"
    assert subscription.next_charge_date is None
    html = client.get(reverse("dashboard:subscription_detail", args=[subscription.uuid])).content
    assert b"Cancelled by seller" in html and b'id="cancel-form"' not in html


def test_seller_cancel_by_htmx_returns_the_partials(creator, manager, login):
    subscription = make_subscriptions(creator, 1)[0]
    client = login(manager)
    url = reverse("dashboard:subscription_cancel", args=[subscription.uuid])
    response = client.post(url, {"reason": "other"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="subscription-summary"')
    assert (
        'id="subscription-timeline" class="card" aria-labelledby="timeline-title" '
        'hx-swap-oob="true"' in html
    )
    assert "The subscription is cancelled." in html
    assert "<html" not in html
    # Twice: a clear message, no 500.
    html = client.post(url, {"reason": "other"}, HTTP_HX_REQUEST="true").content.decode()
    assert "it is already cancelled." in html


def test_seller_cancel_requires_a_reason(creator, manager, login):
    subscription = make_subscriptions(creator, 1)[0]
    response = login(manager).post(
        reverse("dashboard:subscription_cancel", args=[subscription.uuid]), {"reason": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE


def test_overview_counts_and_chart(creator, owner, login):
    make_subscriptions(creator, 2)
    cancelled = make_subscriptions(creator, 3, status=Status.CANCELLED_BY_CUSTOMER)
    for s in cancelled:
        s.cancelled_at = timezone.now() - timedelta(days=8)
        s.cancellation_source = "customer"
        s.save()
    html = login(owner).get(reverse("dashboard:overview")).content.decode()
    assert '<td class="num" data-status="ACTIVE">2</td>' in html
    assert '<td class="num" data-status="CANCELLED_BY_CUSTOMER">3</td>' in html
    section = html.split('id="overview-cancellations"')[1].split("</section>")[0]
    # Inline SVG with a title and description a screen reader announces; no script.
    assert 'role="img" aria-labelledby="chart-cancellations-title chart-cancellations-desc"' in (
        section
    )
    assert '<title id="chart-cancellations-title">Cancellations per week by source</title>' in (
        section
    )
    assert "<script" not in section


def test_cancellations_per_week_buckets_by_local_week(creator):
    from datetime import UTC, datetime

    from dashboard.selectors import cancellations_per_week

    creator.time_zone = "America/Sao_Paulo"
    now = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)  # a Wednesday
    # Monday 13 May 01:00 UTC is still Sunday 12 May in São Paulo: the previous week.
    s = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    s.status, s.cancellation_source = Status.CANCELLED_BY_SELLER, "seller"
    s.cancelled_at = datetime(2024, 5, 13, 1, 0, tzinfo=UTC)
    s.save()
    data = cancellations_per_week(creator=creator, now=now)
    assert len(data.weeks) == 12
    assert data.by_source["seller"][-1] == 0
    assert data.by_source["seller"][-2] == 1


def test_detail_shows_a_plan_switch_scheduled_for_the_renewal(creator, owner, login):
    subscription = make_subscriptions(creator, 1)[0]
    url = reverse("dashboard:subscription_detail", args=[subscription.uuid])
    assert b'id="scheduled-plan"' not in login(owner).get(url).content
    subscription.scheduled_plan = PlanFactory(
        product=subscription.plan.product, name="Lite", price="19.90", currency="BRL"
    )
    subscription.save(update_fields=["scheduled_plan"])
    html = login(owner).get(url).content.decode()
    assert "From the next renewal" in html
    assert "Lite" in html.split('id="scheduled-plan"')[1].split("</dd>")[0]


def _switchable(creator):  # type: ignore[no-untyped-def]
    subscription = make_subscriptions(creator, 1)[0]
    plan = subscription.plan
    plan.price, plan.period = Decimal("50.00"), "monthly"
    plan.save(update_fields=["price", "period"])
    dearer = PlanFactory(
        product=plan.product, name="Pro", price="80.00", currency=plan.currency, period="monthly"
    )
    cheaper = PlanFactory(
        product=plan.product, name="Lite", price="30.00", currency=plan.currency, period="monthly"
    )
    PlanFactory(product=plan.product, name="Dollars", price="9.00", currency="USD")
    return subscription, dearer, cheaper


def test_the_plan_panel_offers_the_products_plans_with_what_a_switch_does(creator, owner, login):
    subscription, _dearer, _cheaper = _switchable(creator)
    url = reverse("dashboard:subscription_detail", args=[subscription.uuid])
    html = login(owner).get(url).content.decode()
    panel = html.split('id="plan-panel"')[1].split("</details>")[0]
    assert "Pro · R$80.00 (Monthly) — now, R$" in panel
    assert "charged for the rest of this period" in panel
    assert "Lite · R$30.00 (Monthly) — from the next renewal" in panel
    assert "Dollars" not in panel  # another currency
    assert f'value="{subscription.plan.uuid}"' not in panel  # not the current plan


def test_switching_from_the_panel(creator, owner, viewer, login):
    subscription, dearer, cheaper = _switchable(creator)
    url = reverse("dashboard:subscription_plan_change", args=[subscription.uuid])
    assert login(viewer).post(url, {"plan": str(cheaper.uuid)}).status_code == 403

    client = login(owner)
    done = client.post(url, {"plan": str(cheaper.uuid)}, follow=True)
    assert "Lite from the next renewal" in done.content.decode()
    subscription.refresh_from_db()
    assert subscription.scheduled_plan == cheaper
    assert 'id="plan-keep"' in done.content.decode()

    kept = client.post(url, {"plan": str(subscription.plan.uuid)}, follow=True)
    assert "The scheduled plan switch is called off." in kept.content.decode()

    up = client.post(url, {"plan": str(dearer.uuid)}, follow=True)
    assert "Switched to Pro;" in up.content.decode()
    subscription.refresh_from_db()
    assert subscription.plan == dearer

    wrong = client.post(url, {"plan": "not-a-uuid"}, follow=True)
    assert "Choose one of the plans offered." in wrong.content.decode()
    foreign = client.post(url, {"plan": str(PlanFactory().uuid)}, follow=True)
    assert "Choose one of the plans offered." in foreign.content.decode()


def test_a_declined_switch_says_so_and_changes_nothing(creator, owner, login):
    subscription, dearer, _cheaper = _switchable(creator)
    subscription.payment_method = "pm_sandbox_insufficient_funds"
    subscription.save(update_fields=["payment_method"])
    url = reverse("dashboard:subscription_plan_change", args=[subscription.uuid])
    answer = login(owner).post(url, {"plan": str(dearer.uuid)}, follow=True)
    assert "declined, so the plan did not change" in answer.content.decode()
    subscription.refresh_from_db()
    assert subscription.plan != dearer
