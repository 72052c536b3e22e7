"""Route cases of the reactivation API for the tenant-isolation matrix
(see tests/api/route_cases.py)."""

from __future__ import annotations

from accounts.models import Creator
from reactivation.services import reactivation_request_create
from tests.api.route_cases import Built, Call, RouteCase, as_list
from tests.factories import labelled_actor
from tests.reactivation.factories import cancelled_subscription


def _cancelled(creator: Creator) -> Built:
    subscription = cancelled_subscription(creator)
    return Built(kwargs={"id": str(subscription.uuid)}, refs={"subscription": subscription})


def _request(creator: Creator) -> Built:
    subscription = cancelled_subscription(creator)
    request = reactivation_request_create(
        subscription=subscription, mode="reactivate", actor=labelled_actor("test")
    )
    return Built(kwargs={"id": str(request.uuid)}, refs={"request": request})


CASES: dict[str, RouteCase] = {
    "subscription-reactivation-requests": RouteCase(
        build=_cancelled, calls={"post": Call(ok=201, body=lambda b: {"mode": "reactivate"})}
    ),
    "reactivation-request-list": RouteCase(build=as_list(_request), calls={"get": Call()}),
    "reactivation-request-detail": RouteCase(build=_request, calls={"get": Call()}),
    # The bulk answer is 200 for anyone allowed to write; an outsider naming this creator's
    # subscriptions gets them back as `failed` (not_found), never created.
    "reactivation-request-bulk": RouteCase(
        build=as_list(_cancelled),
        calls={
            "post": Call(
                body=lambda b: {
                    "subscriptions": [str(b.refs["subscription"].uuid)],
                    "mode": "reactivate",
                },
                outsider=200,
            )
        },
    ),
}
