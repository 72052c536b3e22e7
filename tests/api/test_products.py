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
