"""Property-based run of every operation of /api/schema/ against the WSGI app, in-process:
no 5xx, answers match the schema, and nothing answers without a valid key (401)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api_helpers import api_key_create
from tests.factories import CreatorFactory

schema = schemathesis.from_wsgi("/api/schema/?format=json", application)


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


CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture
def bearer(db, in_process_wsgi):  # type: ignore[no-untyped-def]
    issued = api_key_create(creator=CreatorFactory(), role="owner")
    return f"Bearer {issued.raw_key}"


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@override_settings(API_RATE_LIMIT_PER_MINUTE=100_000)
def test_api_conforms_to_its_schema(case, bearer):  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    anonymous = case.call(headers=headers)
    assert anonymous.status_code == 401, (case.method, case.formatted_path, anonymous.text[:200])
    case.call_and_validate(headers={**headers, "Authorization": bearer}, checks=CHECKS)
