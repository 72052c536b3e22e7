"""Route cases of the webhooks API for the tenant-isolation matrix
(see tests/api/route_cases.py)."""

from __future__ import annotations

from accounts.models import Creator
from tests.api.route_cases import Built, Call, RouteCase, as_list
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery


def _endpoint(creator: Creator) -> Built:
    endpoint = WebhookEndpointFactory(creator=creator)
    return Built(kwargs={"id": str(endpoint.uuid)}, refs={"endpoint": endpoint})


def _delivery(creator: Creator) -> Built:
    endpoint = WebhookEndpointFactory(creator=creator)
    delivery = WebhookDelivery.objects.create(
        creator=creator,
        endpoint=endpoint,
        event=None,
        event_type="test",
        payload={"type": "test", "data": {}},
        status=WebhookDelivery.Status.FAILED,
    )
    return Built(kwargs={"id": str(delivery.uuid)}, refs={"delivery": delivery})


CASES: dict[str, RouteCase] = {
    "webhook-endpoint-list": RouteCase(
        build=as_list(_endpoint),
        calls={
            "get": Call(),
            "post": Call(
                ok=201,
                body=lambda b: {"url": "https://hooks.example.com/in", "events": ["*"]},
                outsider=201,
            ),
        },
    ),
    "webhook-endpoint-detail": RouteCase(
        build=_endpoint,
        calls={
            "get": Call(),
            "patch": Call(body=lambda b: {"description": "Changed"}),
            "delete": Call(ok=204),
        },
    ),
    "webhook-endpoint-deliveries": RouteCase(build=_endpoint, calls={"get": Call()}),
    "webhook-endpoint-test": RouteCase(build=_endpoint, calls={"post": Call(ok=202)}),
    "webhook-delivery-detail": RouteCase(build=_delivery, calls={"get": Call()}),
    "webhook-delivery-replay": RouteCase(build=_delivery, calls={"post": Call(ok=202)}),
}
