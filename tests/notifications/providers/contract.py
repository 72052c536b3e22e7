"""The error matrix every provider adapter must honour, checked against a real local
server that answers like the provider's documentation says."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from notifications.models import Integration
from notifications.providers import ProviderError, provider_for
from notifications.services import integration_validate
from tests.notifications.http_server import Answer, FakeServer, json_answer


@dataclass(frozen=True)
class Case:
    name: str
    permanent: bool
    auth: bool
    status: int | None
    retry_after: float | None
    says: str
    # No answer came back: nothing is known about the credentials, so the integration is
    # left `unchecked` (never "refused the credentials").
    network: bool = False


CASES = [
    Case("400", True, False, 400, None, "rejected the request (HTTP 400)"),
    Case("401", True, True, 401, None, "refused the credentials (HTTP 401)"),
    Case("403", True, True, 403, None, "refused the credentials (HTTP 403)"),
    Case("404", True, False, 404, None, "could not find it (HTTP 404)"),
    Case("422", True, False, 422, None, "rejected the request (HTTP 422)"),
    Case("429-retry-after-seconds", False, False, 429, 7.0, "rate limiting us (HTTP 429)"),
    Case("429-retry-after-date", False, False, 429, 120.0, "rate limiting us (HTTP 429)"),
    Case("429-no-retry-after", False, False, 429, None, "rate limiting us (HTTP 429)"),
    Case("500", False, False, 500, None, "had an internal error (HTTP 500)"),
    Case("503-retry-after", False, False, 503, 30.0, "had an internal error (HTTP 503)"),
    Case("timeout", False, False, None, None, "did not answer within 0.3 s", network=True),
    Case("connection-refused", False, False, None, None, "Could not reach", network=True),
    Case("malformed-json", False, False, 200, None, "not valid JSON"),
]
CASE_IDS = [c.name for c in CASES]


def answer_for(case: Case, error_body: dict[str, Any], content_type: str) -> Answer:
    headers: dict[str, str] = {}
    if case.name == "429-retry-after-seconds":
        headers["Retry-After"] = "7"
    elif case.name == "429-retry-after-date":
        when = datetime.now(UTC) + timedelta(seconds=120)
        headers["Retry-After"] = format_datetime(when, usegmt=True)
    elif case.name == "503-retry-after":
        headers["Retry-After"] = "30"
    if case.name == "timeout":
        return Answer(status=200, body=b"{}", delay=1.0)
    if case.name == "malformed-json":
        return Answer(status=200, body=b'{"lists": [', headers={"Content-Type": "application/json"})
    answer = json_answer(case.status or 500, error_body)
    answer.headers.update({"Content-Type": content_type, **headers})
    return answer


def check_error_case(
    *,
    case: Case,
    fake: FakeServer,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    integration: Integration,
    method: str,
    path: str,
    error_body: dict[str, Any],
    content_type: str = "application/json",
) -> ProviderError:
    """Script the answer, call validate() directly and through `integration_validate`,
    and check what the code and the creator see."""
    caplog.set_level(logging.DEBUG)
    if case.name == "timeout":
        settings.PROVIDER_TIMEOUT_SECONDS = 0.3
    if case.name == "connection-refused":
        settings.PROVIDER_BASE_URLS = {integration.provider: "http://127.0.0.1:9"}
    fake.on(method, path, answer_for(case, error_body, content_type))

    with pytest.raises(ProviderError) as info:
        provider_for(integration).validate()
    error = info.value
    assert error.permanent is case.permanent
    assert error.auth is case.auth
    assert error.status == case.status
    if case.retry_after is None:
        assert error.retry_after is None
    else:
        assert error.retry_after == pytest.approx(case.retry_after, abs=2)
    assert case.says in error.message
    assert error.network is case.network
    if case.network:
        assert "network problem, not the credentials" in error.message
    assert "refused the credentials" not in error.message or case.auth

    before = integration.last_checked_at
    integration_validate(integration=integration)
    integration.refresh_from_db()
    expected = Integration.Status.UNCHECKED if case.network else Integration.Status.ERROR
    assert integration.status == expected
    assert case.says in integration.last_error
    assert integration.last_checked_at is not None and integration.last_checked_at != before

    for secret in integration.credentials.values():
        if "://" in secret:
            continue  # the account URL is not a secret
        assert secret not in error.message
        assert secret not in integration.last_error
        assert secret not in caplog.text
    return error


def check_connected(integration: Integration) -> None:
    integration_validate(integration=integration)
    integration.refresh_from_db()
    assert integration.status == Integration.Status.CONNECTED
    assert integration.last_error == ""
