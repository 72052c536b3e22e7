import pytest

from accounts.models import Role
from tests.api_helpers import api_client
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_owner_creates_product_and_viewer_cannot(creator):
    response = api_client(creator).post("/api/v1/products", {"name": "Course"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Course"
    denied = api_client(creator, Role.VIEWER).post("/api/v1/products", {"name": "X"}, format="json")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"


def test_other_tenants_product_is_404(creator):
    foreign = ProductFactory()
    response = api_client(creator).get(f"/api/v1/products/{foreign.uuid}")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "details": {}}
    }


def test_missing_key_is_401(db):
    response = api_client.__globals__["APIClient"]().get("/api/v1/products")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_list_products_paginates_with_a_cursor(creator):
    for n in range(3):
        ProductFactory(creator=creator, name=f"P{n}")
    client = api_client(creator)
    first = client.get("/api/v1/products?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    names = {p["name"] for p in first["results"] + second["results"]}
    assert names == {"P0", "P1", "P2"}


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 201, 5, None])
def test_invalid_product_name_is_400(creator, name):
    response = api_client(creator).post("/api/v1/products", {"name": name}, format="json")
    assert response.status_code == 400, response.content
    assert "name" in response.json()["error"]["details"]
