from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from subscriptions import services
from subscriptions.billing import add_months
from subscriptions.models import Charge, Status, Subscription
from tests.api_helpers import api_client
from tests.factories import (
    ChargeFactory,
    PlanFactory,
    ProductFactory,
    SubscriptionFactory,
    actor_for,
)

pytestmark = pytest.mark.django_db

SHAPE = {
    "id",
    "status",
    "product",
    "plan",
    "subscriber",
    "started_at",
    "billing_anchor",
    "next_charge_date",
    "paid_through",
    "recurrence",
    "unpaid_recurrences",
    "cancelled_at",
    "cancellation",
}


@pytest.fixture
def plan(creator):  # type: ignore[no-untyped-def]
    return PlanFactory(product=ProductFactory(creator=creator))


def _sale(plan_obj, payment_method="pm_sandbox_ok", **over):  # type: ignore[no-untyped-def]
    body = {
        "plan": str(plan_obj.uuid),
        "subscriber": {"email": "Ana@Example.com", "name": "Ana", "locale": "pt-BR"},
        "payment_method": payment_method,
    }
    body.update(over)
    return body


def test_new_sale_charges_first_period_and_is_active(creator, plan):
    response = api_client(creator).post("/api/v1/subscriptions", _sale(plan), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == SHAPE
    assert data["status"] == "ACTIVE"
    assert data["plan"] == str(plan.uuid) and data["product"] == str(plan.product.uuid)
    assert data["subscriber"]["email"] == "Ana@Example.com"
    assert data["subscriber"]["locale"] == "pt-BR"
    anchor = timezone.localdate(timezone.now(), creator.tz)
    assert data["billing_anchor"] == anchor.isoformat()
    assert data["paid_through"] == data["next_charge_date"] == add_months(anchor, 1).isoformat()
    assert data["recurrence"] == 1 and data["cancellation"] is None
    charge = Charge.objects.get(subscription__uuid=data["id"])
    assert (charge.kind, charge.status, str(charge.amount)) == ("first", "succeeded", "49.90")


def test_declined_first_charge_is_201_inactive(creator, plan):
    response = api_client(creator).post(
        "/api/v1/subscriptions", _sale(plan, "pm_sandbox_declined"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "INACTIVE"
    assert response.json()["next_charge_date"] is None


def test_past_started_at_imports_without_charging(creator, plan):
    started = timezone.now() - timedelta(days=75)
    response = api_client(creator).post(
        "/api/v1/subscriptions", _sale(plan, started_at=started.isoformat()), format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "ACTIVE"
    assert data["billing_anchor"] == timezone.localdate(started, creator.tz).isoformat()
    assert data["next_charge_date"] >= timezone.localdate(timezone.now(), creator.tz).isoformat()
    assert not Charge.objects.exists()


@pytest.mark.parametrize(
    ("body_change", "field"),
    [
        ({"started_at": "2024-13-45"}, "started_at"),
        ({"started_at": "99999-01-01T00:00:00Z"}, "started_at"),
        ({"started_at": 12}, "started_at"),
        ({"plan": "nope"}, "plan"),
        ({"plan": None}, "plan"),
        ({"subscriber": {"email": "not-an-email"}}, "subscriber"),
        ({"subscriber": {"email": "a@example.com", "locale": "fr"}}, "subscriber"),
        ({"subscriber": "ana@example.com"}, "subscriber"),
        ({"payment_method": "\x00"}, "payment_method"),
        ({"payment_method": 1}, "payment_method"),
    ],
)
def test_invalid_subscription_body_is_400(creator, plan, body_change, field):
    response = api_client(creator).post(
        "/api/v1/subscriptions", _sale(plan, **body_change), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Subscription.objects.exists()


def test_unknown_payment_method_and_future_start_are_422(creator, plan):
    client = api_client(creator)
    bad_method = client.post("/api/v1/subscriptions", _sale(plan, "card_123"), format="json")
    assert bad_method.status_code == 422
    assert bad_method.json()["error"]["code"] == "invalid_payment_method"
    future = (timezone.now() + timedelta(days=3)).isoformat()
    later = client.post("/api/v1/subscriptions", _sale(plan, started_at=future), format="json")
    assert later.status_code == 422
    assert later.json()["error"]["code"] == "invalid_started_at"


def test_plan_of_another_creator_is_refused_like_a_missing_one(creator):
    client = api_client(creator)
    foreign = client.post("/api/v1/subscriptions", _sale(PlanFactory()), format="json")
    assert foreign.status_code == 400
    assert foreign.json()["error"]["details"] == {"plan": ["Unknown plan."]}
    assert not Subscription.objects.exists()


def test_retrieve_has_the_spec_shape(creator, plan):
    subscription = SubscriptionFactory(plan=plan)
    data = api_client(creator, Role.VIEWER).get(f"/api/v1/subscriptions/{subscription.uuid}").json()
    assert set(data) == SHAPE
    assert set(data["subscriber"]) == {"id", "email", "name", "locale"}
    assert data["started_at"].endswith("+00:00")
    assert data["id"] == str(subscription.uuid)


@pytest.mark.parametrize("bad_id", ["123", "not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_unknown_or_malformed_ids_are_404(creator, bad_id):
    response = api_client(creator).get(f"/api/v1/subscriptions/{bad_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_filters(creator, plan):
    other_plan = PlanFactory(product=ProductFactory(creator=creator), name="Yearly")
    active = SubscriptionFactory(plan=plan)
    delayed = SubscriptionFactory(plan=other_plan, status=Status.DELAYED)
    cancelled = SubscriptionFactory(plan=plan)
    services.subscription_cancel(
        subscription=cancelled, actor=actor_for("customer"), reason="too pricey"
    )
    SubscriptionFactory()  # another creator's
    client = api_client(creator)

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/v1/subscriptions{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    everything = {str(s.uuid) for s in (active, delayed, cancelled)}
    assert ids("") == everything
    assert ids("?status=DELAYED") == {str(delayed.uuid)}
    assert ids(f"?plan={other_plan.uuid}") == {str(delayed.uuid)}
    assert ids(f"?product={plan.product.uuid}") == {str(active.uuid), str(cancelled.uuid)}
    assert ids(f"?email={active.subscriber.email.upper()}") == {str(active.uuid)}
    assert ids("?cancellation_source=customer") == {str(cancelled.uuid)}
    assert ids(f"?product={PlanFactory().product.uuid}") == set()


@pytest.mark.parametrize(
    "query",
    [
        "status=NOPE",
        "product=not-a-uuid",
        "plan=1",
        "cancellation_source=robot",
        "email=%00",
        "cursor=garbage",
        "cursor=cD0yMDI0",
    ],
)
def test_bad_filter_values_are_400(creator, query):
    response = api_client(creator).get(f"/api/v1/subscriptions?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert query.split("=")[0] in response.json()["error"]["details"]


def test_cancel_is_by_seller_whatever_the_body_says(creator, plan):
    subscription = SubscriptionFactory(plan=plan)
    client = api_client(creator)
    url = f"/api/v1/subscriptions/{subscription.uuid}/cancel"
    response = client.post(url, {"reason": "Asked by email", "source": "admin"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "CANCELLED_BY_SELLER"
    assert data["cancellation"] == {"source": "seller", "reason": "Asked by email"}
    assert data["next_charge_date"] is None
    assert data["paid_through"] == subscription.paid_through.isoformat()
    again = client.post(url, {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_cancelled"


def test_cancel_without_body(creator, plan):
    subscription = SubscriptionFactory(plan=plan)
    response = api_client(creator).post(f"/api/v1/subscriptions/{subscription.uuid}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["cancellation"] == {"source": "seller", "reason": ""}


def test_events_are_oldest_first(creator, plan):
    created = api_client(creator).post("/api/v1/subscriptions", _sale(plan), format="json").json()
    client = api_client(creator)
    client.post(f"/api/v1/subscriptions/{created['id']}/cancel", {"reason": "x"}, format="json")
    events = client.get(f"/api/v1/subscriptions/{created['id']}/events").json()["results"]
    types = [e["type"] for e in events]
    assert types[0] == "subscription.created"
    assert "charge.succeeded" in types
    assert types[-1] == "subscription.status_changed"
    assert events[-1]["data"]["to"] == "CANCELLED_BY_SELLER"
    assert set(events[0]) == {"id", "type", "occurred_at", "data"}
    stamps = [e["occurred_at"] for e in events]
    assert stamps == sorted(stamps)


def test_charges_list_shape(creator, plan):
    subscription = SubscriptionFactory(plan=plan)
    ChargeFactory(subscription=subscription, kind="renewal")
    ChargeFactory(subscription=SubscriptionFactory(plan=plan))  # another subscription's
    rows = api_client(creator).get(f"/api/v1/subscriptions/{subscription.uuid}/charges").json()
    assert len(rows["results"]) == 1
    charge = rows["results"][0]
    assert set(charge) == {
        "id",
        "amount",
        "currency",
        "status",
        "kind",
        "period_start",
        "period_end",
        "created_at",
    }
    assert charge["amount"] == "49.90" and charge["kind"] == "renewal"
    assert charge["period_start"] == subscription.billing_anchor.isoformat()
