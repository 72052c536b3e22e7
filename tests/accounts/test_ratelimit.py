"""B2 building blocks: the shared-cache rate limiter and django-axes' login lockout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.ratelimit import client_ip, hit, rate_limit
from tests.conftest import require_service
from tests.factories import UserFactory
from tests.reliability.procs import REPO

HITTER = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from core.ratelimit import hit
key, limit, n, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sys.stdin.readline()  # start together
print(json.dumps([hit(key, limit, window)[0] for _ in range(n)]))
"""


def _key() -> str:
    return f"test:{uuid.uuid4()}"


def test_hit_allows_limit_then_refuses_with_retry_after():
    key = _key()
    results = [hit(key, 3, 60) for _ in range(5)]
    assert [allowed for allowed, _ in results] == [True, True, True, False, False]
    assert results[0][1] == 0
    assert all(1 <= retry <= 60 for _, retry in results[3:])


def test_keys_and_windows_are_separate():
    a, b = _key(), _key()
    assert hit(a, 1, 60)[0] is True
    assert hit(a, 1, 60)[0] is False
    assert hit(b, 1, 60)[0] is True
    assert hit(a, 1, 3600)[0] is True  # another window length is another counter


def test_two_processes_share_one_count():
    """The (limit+1)th request is refused across processes: the count lives in Redis."""
    require_service(settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), "Redis cache")
    key, limit, per_process = _key(), 30, 25
    # Windows are fixed: a day-long one, so that a slow start on a busy machine cannot
    # put the two processes' hits and this process's check in different windows.
    window = 86400
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", HITTER, key, str(limit), str(per_process), str(window)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        outputs = []
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    allowed = [sum(o) for o in outputs]
    assert sum(allowed) == limit, allowed
    assert hit(key, limit, window)[0] is False  # and this process sees the same count


def test_decorator_answers_429_with_retry_after_html_and_json():
    calls = []

    @rate_limit("test-view", limit=2, window_seconds=60, key=lambda r: r.path)
    def view(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return HttpResponse("ok")

    base = f"/{uuid.uuid4()}/"
    rf = RequestFactory()
    assert [view(rf.get(base)).status_code for _ in range(3)] == [200, 200, 429]
    refused = view(rf.get(base))
    assert refused["Retry-After"].isdigit() and int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"].startswith("text/html")
    assert len(calls) == 2
    api = f"/api/v1/{uuid.uuid4()}"
    view(rf.get(api))
    view(rf.get(api))
    refused = view(rf.get(api))
    assert refused.status_code == 429
    assert json.loads(refused.content)["error"]["code"] == "throttled"


def test_decorator_limits_only_the_given_methods():
    @rate_limit("test-post", limit=1, window_seconds=60, methods=("POST",), key=lambda r: r.path)
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    path = f"/{uuid.uuid4()}/"
    rf = RequestFactory()
    assert [view(rf.get(path)).status_code for _ in range(3)] == [200, 200, 200]
    assert [view(rf.post(path)).status_code for _ in range(2)] == [200, 429]


def test_client_ip_uses_only_the_hop_our_proxy_saw(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7"
    )
    settings.RATELIMIT_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.5"
    settings.RATELIMIT_PROXY_COUNT = 1  # a client-supplied first entry is ignored
    assert client_ip(request) == "198.51.100.7"


@pytest.mark.django_db
def test_axes_locks_out_the_login_after_the_failure_limit(client, settings):
    limit = settings.AXES_FAILURE_LIMIT
    user = UserFactory(is_staff=True, is_superuser=True)
    answers = [
        client.post("/admin/login/", {"username": user.email, "password": "wrong"}).status_code
        for _ in range(limit - 1)
    ]
    assert answers == [200] * (limit - 1)  # the form again, with an error
    client.post("/admin/login/", {"username": user.email, "password": "wrong"})
    # The (N+1)th attempt is refused even with the right password.
    locked = client.post("/admin/login/", {"username": user.email, "password": "pass-word-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
