import re

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3_with_bearer_auth_and_the_error_shape(schema):
    assert schema["openapi"].startswith("3.")
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["apiKey"]["description"],
    }
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "details"}


def test_every_operation_is_secured_and_documents_errors(schema):
    for path, item in schema["paths"].items():
        assert path.startswith("/api/v1/") and not path.endswith("/")
        for method, operation in item.items():
            assert {"apiKey": []} in operation["security"], (method, path)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            if "{id}" in path:
                assert "404" in operation["responses"], (method, path)


def test_main_operations_have_examples_and_idempotency_header(schema):
    create = schema["paths"]["/api/v1/subscriptions"]["post"]
    assert "New sale" in str(create["requestBody"]["content"]["application/json"]["examples"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert create["responses"]["201"]["content"]["application/json"]["examples"]
    retrieve = schema["paths"]["/api/v1/subscriptions/{id}"]["get"]
    assert retrieve["responses"]["200"]["content"]["application/json"]["examples"]
    filters = {p["name"] for p in schema["paths"]["/api/v1/subscriptions"]["get"]["parameters"]}
    assert {"status", "product", "plan", "email", "cancellation_source", "cursor"} <= filters


def test_docs_page_renders_offline():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    external = [u for u in re.findall(r"https?://[^\s\"'<>]+", html) if "testserver" not in u]
    assert external == []
    assets = re.findall(r"(?:src|href)=\"/static/([^\"]+)\"", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert finders.find(asset), f"static asset {asset} is not installed"
