import pytest
from django.test import override_settings

from tests.api_helpers import api_client

pytestmark = pytest.mark.django_db


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
def test_fourth_request_in_a_minute_is_429_with_retry_after(creator):
    client = api_client(creator)
    for _ in range(3):
        assert client.get("/api/v1/products").status_code == 200
    response = client.get("/api/v1/products")
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert error["details"] == {"retry_after": retry_after}


@override_settings(API_RATE_LIMIT_PER_MINUTE=2)
def test_limit_is_per_key_and_shared_across_clients(creator):
    from rest_framework.test import APIClient

    from tests.api_helpers import member_key

    issued = member_key(creator, "owner")
    one, two = APIClient(), APIClient()
    for client in (one, two):
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    assert one.get("/api/v1/products").status_code == 200
    assert two.get("/api/v1/products").status_code == 200
    # The count lives in the shared cache, not in a client or process.
    assert one.get("/api/v1/products").status_code == 429
    assert api_client(creator).get("/api/v1/products").status_code == 200
