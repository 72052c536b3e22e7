"""Every error under /api/ has the shape {"error": {code, message, details}}."""

from unittest import mock

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api_helpers import api_client
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _error(response, status, code=None):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_malformed_json_is_400(creator):
    response = api_client(creator).post(
        "/api/v1/products", data='{"name": ', content_type="application/json"
    )
    _error(response, 400, "parse_error")


def test_unsupported_media_type_is_415(creator):
    response = api_client(creator).post(
        "/api/v1/products", data="name=x", content_type="text/plain"
    )
    _error(response, 415, "unsupported_media_type")


def test_method_not_allowed_is_405(creator):
    product = ProductFactory(creator=creator)
    _error(api_client(creator).delete(f"/api/v1/products/{product.uuid}"), 405)


def test_not_acceptable_is_406(creator):
    _error(api_client(creator).get("/api/v1/products", HTTP_ACCEPT="text/html"), 406)


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/products/x/y/z", "/api/v2/products"])
def test_unknown_api_urls_are_json_404_even_without_a_key(path):
    _error(APIClient().get(path), 404, "not_found")


@override_settings(DEBUG=False)
def test_django_404_outside_the_api_stays_html():
    response = APIClient().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_unhandled_error_under_api_is_json_500(creator):
    client = api_client(creator)
    client.raise_request_exception = False
    with mock.patch(
        "subscriptions.api.views.ProductViewSet.list", side_effect=RuntimeError("boom")
    ):
        error = _error(client.get("/api/v1/products"), 500, "server_error")
    assert "boom" not in error["message"]


def test_unhandled_error_outside_api_is_html(rf):
    from core.api.errors import handler404, handler500

    page = handler500(rf.get("/dashboard/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    api = handler404(rf.get("/api/v1/whatever"))
    assert api.status_code == 404 and api["Content-Type"] == "application/json"


def test_bad_key_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer sk_live_nope")
    _error(client.get("/api/v1/products"), 401, "authentication_failed")
    client.credentials(HTTP_AUTHORIZATION="Token abc")
    _error(client.get("/api/v1/products"), 401)


def test_huge_numbers_and_deep_nesting_are_400_not_500(creator):
    client = api_client(creator)
    body = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    _error(client.post("/api/v1/products", data=body, content_type="application/json"), 400)
    huge = '{"name": 1' + "0" * 5000 + "}"
    _error(client.post("/api/v1/products", data=huge, content_type="application/json"), 400)
    assert client.get("/api/v1/products?page_size=99999999999999999999999").status_code == 200
