"""B1: production settings pass Django's deploy checks; HTML answers carry a strict
Content-Security-Policy and the other hardening headers; dependencies have no known
vulnerabilities (pip-audit); a lost database answers 503, not a stack trace."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.security import DatabaseUnavailableMiddleware
from tests.reliability.procs import REPO

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "subscriptions.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://subscriptions.example.com",
    "BASE_URL": "https://subscriptions.example.com",
    "FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE=",
}


def _production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION_ENV)
    return env


def test_production_settings_pass_every_deploy_check():
    """All of `check --deploy` (not only the security tag): drf-spectacular's schema
    warnings and every app's checks count too."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_settings_fail_the_deploy_checks():
    """The check is not vacuous: DEBUG and the development secret key are reported."""
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env["DEBUG"] = "true"  # development asks for it (the default is off)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on
    assert "security.W009" in result.stderr  # weak SECRET_KEY


@pytest.mark.django_db
def test_html_answers_carry_csp_and_hardening_headers(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = {d.strip().split()[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == "default-src 'self'"
    assert directives["object-src"] == "object-src 'none'"
    assert directives["base-uri"] == "base-uri 'none'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_json_answers_have_no_csp_but_nosniff(client):
    response = client.get("/api/v1/products")
    assert response["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/v1/products", "application/json"), ("/manage/", "text/html")],
)
def test_lost_database_answers_503_with_retry_after(path, content_type):
    def view(request: HttpRequest) -> HttpResponse:
        raise OperationalError("connection to server failed: Connection refused")

    middleware = DatabaseUnavailableMiddleware(view)
    request = RequestFactory().get(path)
    response = middleware.process_exception(request, OperationalError("server closed"))
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)
    assert b"Traceback" not in response.content
    if content_type == "application/json":
        assert json.loads(response.content)["error"]["code"] == "service_unavailable"
    assert middleware.process_exception(request, ValueError("other")) is None


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pip_audit_finds_no_known_vulnerability():
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "pip-audit"),
            "--local",
            "--skip-editable",
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    report = json.loads(result.stdout or "{}")
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [
        (d["name"], d["version"], [v["id"] for v in d["vulns"]]) for d in audited if d["vulns"]
    ]
    assert vulnerable == [], vulnerable
    if not audited:
        # pip-audit asks PyPI's per-version JSON API for advisories; where that answers
        # 404 for every release (a mirror that serves only the package index), nothing
        # could be audited and a "clean" result would be meaningless.
        pytest.skip(
            f"vulnerability data unreachable: 0 of {len(deps)} dependencies could be audited "
            f"({deps[0]['skip_reason'] if deps else result.stderr[-300:]})"
        )
    assert result.returncode == 0, result.stderr[-2000:]


def _settings_in_child(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_debug_is_off_unless_development_asks_for_it():
    """A forgotten DEBUG variable means off: no development outbox (every sign-in link),
    and a web process without a SECRET_KEY refuses to start."""
    env = {k: v for k, v in _production_env().items() if k != "DEBUG"}
    shown = _settings_in_child(
        env,
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "print(settings.DEBUG, Client().get('/dev/outbox/', secure=True, "
        "HTTP_HOST='subscriptions.example.com').status_code)",
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split()[-2:] == ["False", "404"]
    no_secret = {k: v for k, v in env.items() if k != "SECRET_KEY"}
    refused = _settings_in_child(no_secret, "import config.wsgi")
    assert refused.returncode != 0
    # Django's own refusal or ours (core.security.require_serving_secrets).
    assert "SECRET_KEY" in refused.stderr and "must" in refused.stderr
    compose = (REPO / "docker-compose.yml").read_text()
    assert "DEBUG: ${DEBUG:-false}" in compose
    assert "run: export DEBUG ?= true" in (REPO / "Makefile").read_text()


def test_every_queue_has_exactly_one_worker_pool_in_compose() -> None:
    """Each queue a task or a periodic job uses is taken by one docker-compose worker,
    so no work waits for a pool that does not exist and no two pools share a queue
    (docs/running.md, "Worker layout"); run_dev's single worker takes them all."""
    import yaml

    from config.celery import app
    from core import scheduling
    from subscriptions.management.commands.run_dev import QUEUES

    app.loader.import_default_modules()
    used = {t.queue for t in app.tasks.values() if getattr(t, "queue", None)}
    used |= {job.queue for job in scheduling.jobs().values()}
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    taken: dict[str, str] = {}
    for name, service in services.items():
        words = str(service.get("command", "")).split()
        if "worker" not in words:
            continue
        for queue in words[words.index("-Q") + 1].split(","):
            assert queue not in taken, f"{queue} taken by {taken[queue]} and {name}"
            taken[queue] = name
    assert used and used <= set(taken), f"no pool takes {sorted(used - set(taken))}"
    assert used <= set(QUEUES.split(","))
