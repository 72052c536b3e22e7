"""B3: dashboard list (status filter, 50 rows), detail, overview and the API list for the
largest creator (200,000 of 1,000,000 subscriptions), loaded by wrk from a separate
process against gunicorn on 127.0.0.1, against a bare view running one indexed query for
the same 50 rows on the same server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from accounts.api.auth import SESSION_CREATOR_KEY
from bench.data import large_dataset
from bench.harness import Process, Result, Scenario, free_port, wait_for_port
from subscriptions.models import Subscription

WORKERS = 2
CONNECTIONS = 4
LOGS = settings.BASE_DIR / "bench" / "logs"


def _session_cookie(user: Any, creator: Any) -> str:
    """A logged-in dashboard session, as the login view would leave it."""
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session[SESSION_CREATOR_KEY] = str(creator.uuid)
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _wrk(port: int, name: str, paths: list[str], headers: list[str], seconds: int) -> dict:
    paths_file = LOGS / f"b3-{name}.paths"
    paths_file.write_text("\n".join(paths) + "\n")
    if shutil.which("wrk"):
        args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
        for header in headers:
            args += ["-H", header]
        args += ["-s", str(settings.BASE_DIR / "bench" / "wrk.lua"), f"http://127.0.0.1:{port}"]
    else:  # same closed loop and output, in Python (its own process all the same)
        args = [sys.executable, "-m", "bench.loadgen", str(port), str(seconds)]
        args += [str(CONNECTIONS), str(paths_file), *headers]
    out = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "WRK_PATHS": str(paths_file)},
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    data["requests_per_second"] = round(data["requests"] / data["seconds"], 1)
    return data


def _check(port: int, path: str, headers: list[str]) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    for header in headers:
        key, _, value = header.partition(": ")
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def run(scale: float) -> Result:
    tenants = large_dataset(scale)
    tenant = tenants[0]
    creator = tenant.creator
    rows = Subscription.objects.filter(creator=creator).count()
    cookie = f"Cookie: {_session_cookie(tenant.owner, creator)}"
    api = f"Authorization: Bearer {tenant.api_key}"
    detail_uuids = list(
        Subscription.objects.filter(creator=creator)
        .order_by("?")
        .values_list("uuid", flat=True)[:200]
    )
    pages: dict[str, tuple[list[str], list[str]]] = {
        "list": (["/subscriptions/?status=ACTIVE"], [cookie]),
        "detail": ([f"/subscriptions/{u}/" for u in detail_uuids], [cookie]),
        "overview": (["/"], [cookie]),
        "api_list": (["/api/v1/subscriptions?status=ACTIVE&limit=50"], [api]),
        "baseline": ([f"/__bench/list/?creator={creator.pk}&status=ACTIVE"], []),
    }
    seconds = 10 if scale >= 1 else 3
    port = free_port()
    server = Process(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={"DJANGO_SETTINGS_MODULE": "bench.settings"},
        name="b3-gunicorn",
    )
    results: dict[str, dict] = {}
    try:
        wait_for_port(port)
        for name, (paths, headers) in pages.items():
            status = _check(port, paths[0], headers)
            if status != 200:
                raise RuntimeError(f"B3 {name}: {paths[0]} answered {status}, not 200")
            _wrk(port, name, paths, headers, 1)  # warm-up
            results[name] = _wrk(port, name, paths, headers, seconds)
        web_rss = server.peak_rss_mb()
    finally:
        server.stop()

    base = results["baseline"]["p95_ms"]
    for data in results.values():
        data["ratio_p95"] = round(data["p95_ms"] / base, 2) if base else 0
    checks = {
        "list_p95_under_100ms": results["list"]["p95_ms"] < 100,
        "detail_p95_under_100ms": results["detail"]["p95_ms"] < 100,
        "web_rss_under_300mb": web_rss < 300,
        "no_errors": all(d["errors"] == 0 for d in results.values()),
    }
    for name in ("detail", "overview", "api_list"):
        checks[f"{name}_within_3x"] = results[name]["ratio_p95"] <= 3
    return Result(
        id="B3",
        title=f"Dashboard and API pages, creator with {rows:,} subscriptions",
        metric="list p95 ms",
        value=results["list"]["p95_ms"],
        baseline_value=base,
        target="p95 < 100 ms (list, detail); ≤ 3 × baseline",
        better="lower",
        target_ratio=3.0,
        details={
            "pages": results,
            "gunicorn_workers": WORKERS,
            "load_generator": "wrk" if shutil.which("wrk") else "bench.loadgen (wrk not found)",
            "wrk_connections": CONNECTIONS,
            "seconds_per_page": seconds,
            "web_peak_rss_mb": web_rss,
            "baseline": "bare view, one indexed query for the same 50 rows (bench/urls.py)",
        },
        extra_checks=checks,
    )


SCENARIO = Scenario("B3", "Dashboard and API under load", run)
