"""Route cases of the segmentation API for the tenant-isolation matrix
(see tests/api/route_cases.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from accounts.models import Creator
from segmentation import services
from tests.api.route_cases import Built, Call, RouteCase, as_list
from tests.segmentation.factories import IntegrationFactory
from tests.segmentation.provider import FakeProviderServer


@cache
def _provider_url() -> str:
    return FakeProviderServer().start()


def _provider_settings() -> dict[str, Any]:
    return {"PROVIDER_BASE_URLS": {"testmail": _provider_url()}}


def _rule_body(built: Built) -> dict[str, Any]:
    return {
        "name": "Win back",
        "product": None,
        "triggers": ["CANCELLED_BY_CUSTOMER"],
        "match": "all",
        "conditions": [{"field": "recurrence", "op": "gte", "value": 1}],
        "actions": [
            {
                "type": "add_tag",
                "integration": str(built.refs["integration"].uuid),
                "tag": "churned",
            }
        ],
        "is_active": True,
    }


def _integration_only(creator: Creator) -> Built:
    return Built(refs={"integration": IntegrationFactory(creator=creator)})


def _rule(creator: Creator) -> Built:
    built = _integration_only(creator)
    data = _rule_body(built)
    rule = services.rule_create(creator=creator, data=data)
    return Built(kwargs={"id": str(rule.uuid)}, refs={**built.refs, "rule": rule})


CASES: dict[str, RouteCase] = {
    "segmentation-list": RouteCase(
        build=as_list(_rule), calls={"get": Call(), "post": Call(ok=201, body=_rule_body)}
    ),
    "segmentation-detail": RouteCase(
        build=_rule,
        calls={
            "get": Call(),
            "patch": Call(body=lambda b: {"is_active": False}),
            "delete": Call(ok=204),
        },
    ),
    "segmentation-deliveries": RouteCase(build=_rule, calls={"get": Call()}),
    "segmentation-test": RouteCase(
        build=_rule,
        settings=_provider_settings,
        # No address: the caller's own (the member, or the key's holder).
        calls={"post": Call(body=lambda b: {})},
    ),
    "segmentation-preview": RouteCase(
        build=_integration_only, calls={"post": Call(body=_rule_body)}
    ),
}
