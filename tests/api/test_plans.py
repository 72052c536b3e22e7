import pytest

from accounts.models import Role
from subscriptions.models import Plan
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _body(product_obj, **over):  # type: ignore[no-untyped-def]
    body = {
        "product": str(product_obj.uuid),
        "name": "Monthly",
        "price": "49.90",
        "currency": "brl",
        "period": "monthly",
        "max_cycles": 12,
    }
    body.update(over)
    return body


def test_owner_creates_plan_with_decimal_string_price(creator):
    product = ProductFactory(creator=creator)
    response = api_client(creator).post("/api/v1/plans", _body(product), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["price"] == "49.90"
    assert data["currency"] == "BRL"
    assert data["product"] == str(product.uuid)
    assert data["max_cycles"] == 12
    plan = Plan.objects.get(uuid=data["id"])
    assert plan.creator == creator and str(plan.price) == "49.90"


def test_max_cycles_is_optional(creator):
    product = ProductFactory(creator=creator)
    body = _body(product)
    del body["max_cycles"]
    response = api_client(creator).post("/api/v1/plans", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["max_cycles"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "abc"),
        ("price", "-1.00"),
        ("price", "1e400"),
        ("price", "12345678901234567890"),
        ("price", "1.999"),
        ("price", None),
        ("currency", "REAL"),
        ("currency", 12),
        ("currency", "ZZZ"),  # three letters, not a currency
        ("currency", "XAU"),  # gold: an ISO 4217 code, not money for a plan
        ("currency", "DEM"),  # withdrawn (Deutsche Mark)
        ("period", "daily"),
        ("max_cycles", 0),
        ("max_cycles", 10**30),
        ("max_cycles", "many"),
        ("name", ""),
        ("name", "x" * 201),
        ("name", "nul\x00byte"),
        ("name", ["list"]),
        ("product", "not-a-uuid"),
    ],
)
def test_invalid_plan_is_400_with_field_details(creator, field, value):
    product = ProductFactory(creator=creator)
    response = api_client(creator).post(
        "/api/v1/plans", _body(product, **{field: value}), format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["details"]
    assert not Plan.objects.exists()


def test_product_of_another_creator_looks_exactly_like_a_missing_one(creator):
    client = api_client(creator)
    foreign = client.post("/api/v1/plans", _body(ProductFactory()), format="json")
    missing = client.post(
        "/api/v1/plans",
        _body(ProductFactory.build(uuid="00000000-0000-4000-8000-000000000000")),
        format="json",
    )
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert foreign.json()["error"]["details"] == {"product": ["Unknown product."]}


def test_list_and_retrieve_plans_of_own_creator_only(creator):
    mine = PlanFactory(product=ProductFactory(creator=creator))
    PlanFactory()
    client = api_client(creator, Role.VIEWER)
    listed = client.get("/api/v1/plans").json()
    assert [p["id"] for p in listed["results"]] == [str(mine.uuid)]
    assert listed["next"] is None and listed["previous"] is None
    one = client.get(f"/api/v1/plans/{mine.uuid}").json()
    assert one["price"] == "49.90" and one["period"] == "monthly"
