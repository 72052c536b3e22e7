"""F1: property-based run of every operation of /api/schema/ (products, plans,
subscriptions, reactivation, integrations, webhooks, segmentation: the whole schema)
against the WSGI app, in-process: no 5xx, answers match the schema (status, content type,
headers, body), and nothing answers without a valid key (401 anonymous or with a
made-up key).

CI runs a bounded number of examples per operation; the nightly size is
`SCHEMATHESIS_MAX_EXAMPLES=100` (see docs/reliability.md).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from core.api.errors import api_not_found
from tests.api_helpers import api_key_create
from tests.factories import CreatorFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))

schema = schemathesis.from_wsgi("/api/schema/?format=json", application)

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)


@pytest.fixture
def in_process_wsgi():  # type: ignore[no-untyped-def]
    # Calling the WSGI app directly fires request_started/finished, whose handler would
    # close the test's database connection mid-transaction; Django's test client
    # disconnects it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db, in_process_wsgi):  # type: ignore[no-untyped-def]
    issued = api_key_create(creator=CreatorFactory(), role="owner")
    return f"Bearer {issued.raw_key}"


def test_the_schema_covers_every_api_area() -> None:
    """The run is over the whole API: a module left out of the schema fails here."""
    paths = set(schema.raw_schema["paths"])
    for area in (
        "/products",
        "/plans",
        "/subscriptions",
        "/reactivation-requests",
        "/integrations",
        "/webhook-endpoints",
        "/webhook-deliveries",
        "/segmentations",
    ):
        assert any(p.startswith("/api/v1" + area) for p in paths), (area, sorted(paths))


def _unrouted(path: str) -> bool:
    try:
        return resolve(path.split("?", 1)[0]).func is api_not_found
    except Resolver404:
        return True


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@override_settings(API_RATE_LIMIT_PER_MINUTE=1_000_000)
def test_api_conforms_to_its_schema(case, bearer):  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    where = (case.method, case.formatted_path)
    # A generated path value the route's pattern refuses (e.g. "." for an id) reaches no
    # view: the catch-all answers 404 before authentication, which reveals nothing.
    expected = 404 if _unrouted(case.formatted_path) else 401
    anonymous = case.call(headers=headers)
    assert anonymous.status_code == expected, (*where, anonymous.text[:200])
    forged = case.call(headers={**headers, "Authorization": "Bearer sk_live_" + "0" * 40})
    assert forged.status_code == expected, (*where, forged.text[:200])
    case.call_and_validate(headers={**headers, "Authorization": bearer}, checks=CHECKS)
