"""B2: the dashboard login, the subscriber's sign-in form, the reactivation link and the
API answer the (N+1)th request of a window with 429 and Retry-After, and the count lives
in Redis: a second process adding to the same key (through `core.ratelimit.hit`)
moves the same counter. (Axes' lockout: tests/accounts/test_ratelimit.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from accounts.services import api_key_create
from tests.conftest import require_service
from tests.factories import CreatorFactory
from tests.reliability.procs import REPO

pytestmark = pytest.mark.django_db

OTHER_PROCESS_HIT = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from core.ratelimit import hit
print(json.dumps(hit(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
"""


def _other_process_hit(key: str, limit: int, window: int) -> tuple[bool, int]:
    """One `hit` on `key` from a separate Python process (its own cache connection)."""
    require_service(
        django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), "Redis cache"
    )
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS_HIT, key, str(limit), str(window)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    allowed, retry_after = json.loads(done.stdout.strip().splitlines()[-1])
    return bool(allowed), int(retry_after)


def _fresh_window(window: int, margin: float = 10.0) -> None:
    """Fixed windows: start the test far enough from a window's end that every request
    (including the child process's, which takes a second or two) lands in one window."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)


def _ip() -> str:
    # A fresh address per test: the counters outlive the test database.
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _assert_429(response: Any, window: int) -> None:
    assert response.status_code == 429, response.content[:300]
    assert 1 <= int(response["Retry-After"]) <= window


def test_dashboard_login_post_is_limited_per_ip_and_shared(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_RATE_LIMIT = limit = 3
    settings.AXES_FAILURE_LIMIT = 100  # this test is about the per-IP limit, not axes
    window = settings.LOGIN_RATE_WINDOW_SECONDS
    _fresh_window(window)
    ip = _ip()
    client = Client(REMOTE_ADDR=ip)
    url = reverse("login")
    body = {"username": "nobody@example.com", "password": "wrong"}
    for _ in range(limit - 1):
        assert client.post(url, body).status_code == 200  # the form again, with an error
    # The limit's Nth request comes from another process: it is allowed and counted.
    assert _other_process_hit(f"login:{ip}", limit, window) == (True, 0)
    _assert_429(client.post(url, body), window)
    assert client.get(url).status_code == 200  # only POSTs count
    assert Client(REMOTE_ADDR=_ip()).post(url, body).status_code == 200  # per IP


def test_subscriber_sign_in_form_is_limited_per_ip_and_shared(settings: Any) -> None:
    settings.SUBSCRIBER_SIGN_IN_PER_IP = limit = 3
    settings.SUBSCRIBER_SIGN_IN_PER_EMAIL = 100
    window = 3600
    creator = CreatorFactory()
    ip = _ip()
    client = Client(REMOTE_ADDR=ip)
    url = reverse("subscriber:sign_in_request", args=[creator.slug])
    for _ in range(limit - 1):
        response = client.post(url, {"email": f"{uuid.uuid4().hex}@example.com"})
        assert response.status_code == 200
    assert _other_process_hit(f"subscriber-sign-in:ip:{ip}", limit, window)[0] is True
    response = client.post(url, {"email": f"{uuid.uuid4().hex}@example.com"})
    _assert_429(response, window)
    assert "Too many requests" in response.content.decode()


def test_subscriber_sign_in_form_is_limited_per_email(settings: Any) -> None:
    settings.SUBSCRIBER_SIGN_IN_PER_EMAIL = limit = 2
    creator = CreatorFactory()
    email = f"{uuid.uuid4().hex}@example.com"
    url = reverse("subscriber:sign_in_request", args=[creator.slug])
    # From different addresses: the per-email count still adds up.
    codes = [Client(REMOTE_ADDR=_ip()).post(url, {"email": email}) for _ in range(limit + 1)]
    assert [r.status_code for r in codes] == [200] * limit + [429]
    assert int(codes[-1]["Retry-After"]) >= 1


def test_reactivation_link_get_and_post_are_limited_per_ip_and_shared(settings: Any) -> None:
    settings.REACTIVATION_LINK_RATE_LIMIT = limit = 4
    window = settings.REACTIVATION_LINK_RATE_WINDOW_SECONDS
    _fresh_window(window)
    ip = _ip()
    client = Client(REMOTE_ADDR=ip)
    url = reverse("reactivation_page", args=["a-token-that-does-not-exist"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "accept"}).status_code == 404
    assert client.get(url).status_code == 404
    assert _other_process_hit(f"reactivation-link:{ip}", limit, window)[0] is True
    response = client.get(url)
    _assert_429(response, window)
    # Still a private page: the token in the URL never leaks through a referrer.
    assert response["Referrer-Policy"] == "no-referrer"
    _assert_429(client.post(url, {"decision": "accept"}), window)


def test_api_is_limited_per_key_in_redis_and_shared(settings: Any) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = limit = 3
    window = 60
    _fresh_window(window)
    issued = api_key_create(creator=CreatorFactory(), role="owner")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    for _ in range(limit - 1):
        assert client.get("/api/v1/products").status_code == 200
    key = f"throttle:api:key:{issued.api_key.uuid}"
    assert _other_process_hit(key, limit, window)[0] is True
    response = client.get("/api/v1/products")
    _assert_429(response, window)
    assert response.json()["error"]["code"] == "throttled"
