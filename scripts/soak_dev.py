"""Soak the development stack (`manage.py run_dev`) under traffic and report what broke.

    .venv/bin/python scripts/soak_dev.py --port 8350 --duration 7200 --interval 3

Starts `run_dev` on the embedded defaults (SQLite, the embedded Celery broker, no
Redis) in its own VAR_DIR, signs in to the dashboard as the demo user and, every
`--interval` seconds, sends one API write (a sale, a cancellation or a reactivation
request, in turn) and loads one page (dashboard, subscription detail, outbox, admin,
subscriber page). Every line run_dev and its children print goes to the log with a time
stamp; so does every failed request. At the end it stops run_dev, checks in the
database that the work was done (events processed, renewals charged by the periodic
jobs, emails written) and prints a JSON summary as its last line (also written to
`<var-dir>/soak-summary.json`). Exit code 0 when nothing crashed and nothing failed.

`--cpu-burners N` keeps N busy processes beside the stack, as on a loaded laptop.
`--keep-env` keeps DATABASE_URL / REDIS_URL / CELERY_BROKER_URL from the environment
instead of the embedded defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 — the published local demo login
# An event still unprocessed this long after it was written counts as lost work: the
# outbox sweeper re-publishes after OUTBOX_SWEEP_AFTER_SECONDS (30 s) and beat runs it
# every SCHEDULED_JOB_INTERVAL (30 s).
LOST_AFTER_SECONDS = 120


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Log:
    def __init__(self, path: Path) -> None:
        self._file = path.open("a", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, source: str, line: str) -> None:
        with self._lock:
            self._file.write(f"{now()} [{source}] {line.rstrip()}\n")


class StackWatcher(threading.Thread):
    """Copies run_dev's output to the log and counts crashes and restarts."""

    RESTART = re.compile(r"\[run_dev [^\]]*\] (\w+) exited with code")

    def __init__(self, process: subprocess.Popen[bytes], log: Log) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.log = log
        self.exits: Counter[str] = Counter()
        self.critical: list[str] = []

    def run(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace")
            self.log.write("stack", line)
            match = self.RESTART.search(line)
            if match:
                self.exits[match.group(1)] += 1
            if "CRITICAL" in line or "Unrecoverable error" in line:
                self.critical.append(f"{now()} {line.strip()}")


def burn() -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        pass


class Traffic:
    def __init__(self, base: str, api_key: str, log: Log) -> None:
        self.base = base
        self.log = log
        self.api = httpx.Client(
            base_url=f"{base}/api/v1",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        self.browser = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []
        self.active: list[str] = []
        self.cancelled: list[str] = []
        self.sales = 0
        self.plan = ""

    def request(
        self, client: httpx.Client, kind: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.fail(kind, f"{method} {url}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.monotonic() - started
        self.counts[kind] += 1
        if response.status_code >= 400:
            self.fail(kind, f"{method} {url}: HTTP {response.status_code} {response.text[:200]}")
            return None
        if elapsed > 10:
            self.log.write("traffic", f"slow {method} {url}: {elapsed:.1f} s")
        return response

    def fail(self, kind: str, message: str) -> None:
        self.counts[f"{kind}_failed"] += 1
        self.failures.append(f"{now()} {message}")
        self.log.write("traffic", f"FAILED {message}")

    def sign_in(self) -> None:
        self.browser.get("/login/")
        token = self.browser.cookies.get("csrftoken", "")
        response = self.browser.post(
            "/login/",
            data={"username": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        )
        if "sessionid" not in self.browser.cookies:
            raise SystemExit(f"could not sign in as the demo user: HTTP {response.status_code}")

    def set_up_plan(self) -> None:
        product = self.request(self.api, "api", "POST", "/products", json={"name": "Soak club"})
        assert product is not None, "could not create the soak product"
        plan = self.request(
            self.api,
            "api",
            "POST",
            "/plans",
            json={
                "product": product.json()["id"],
                "name": "Soak monthly",
                "price": "19.90",
                "currency": "BRL",
                "period": "monthly",
            },
        )
        assert plan is not None, "could not create the soak plan"
        self.plan = plan.json()["id"]

    def api_write(self, tick: int) -> None:
        step = tick % 3
        if step == 1 and self.active:
            subscription = self.active.pop(0)
            if self.request(
                self.api,
                "cancel",
                "POST",
                f"/subscriptions/{subscription}/cancel",
                json={"reason": "soak"},
            ):
                self.cancelled.append(subscription)
            return
        if step == 2 and self.cancelled:
            subscription = self.cancelled.pop(0)
            self.request(
                self.api,
                "reactivation_request",
                "POST",
                f"/subscriptions/{subscription}/reactivation-requests",
                json={"mode": "reactivate"},
            )
            return
        self.sales += 1
        sale = self.request(
            self.api,
            "sale",
            "POST",
            "/subscriptions",
            json={
                "plan": self.plan,
                "subscriber": {
                    "email": f"soak-{os.getpid()}-{self.sales}@example.com",
                    "name": f"Soak {self.sales}",
                    "locale": "pt-BR" if self.sales % 2 else "en",
                },
                "payment_method": "pm_sandbox_ok",
            },
        )
        if sale is not None:
            self.active.append(sale.json()["id"])

    def page(self, tick: int) -> None:
        pages = [
            "/",
            "/subscriptions/",
            "/subscriptions/?status=CANCELLED_BY_SELLER",
            "/reactivation/",
            "/segmentations/",
            "/webhooks/",
            "/settings/",
            "/dev/outbox/",
            "/admin/subscriptions/subscription/?q=soak",
            "/s/demo/",
        ]
        recent = self.active[-1:] or self.cancelled[-1:]
        if recent:
            pages.append(f"/subscriptions/{recent[0]}/")
        self.request(self.browser, "page", "GET", pages[tick % len(pages)])


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def manage(env: dict[str, str], log: Log, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in (result.stdout + result.stderr).splitlines():
        log.write(f"manage {args[0]}", line)
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed; see the log")
    return result.stdout


def wait_drained(since: datetime, seconds: float) -> None:
    """Until every event written since `since` is processed (or `seconds` pass)."""
    from django.db import connections

    from core.tenancy import tenant_context
    from subscriptions.models import SubscriptionEvent

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with tenant_context(None):
            pending = SubscriptionEvent.objects.filter(
                occurred_at__gte=since, processed_at__isnull=True, failed_at__isnull=True
            ).exists()
        connections.close_all()
        if not pending:
            return
        time.sleep(2)


def work_done(since: datetime, base_url: str) -> dict[str, Any]:
    """What the worker and beat did, read from the database."""
    from django.db import connections
    from django.db.models import F

    from core.tenancy import tenant_context
    from notifications.models import OutboxEmail
    from subscriptions.models import Charge, SubscriptionEvent

    with tenant_context(None):
        events = SubscriptionEvent.objects.filter(occurred_at__gte=since)
        lags = sorted(
            (row["lag"].total_seconds())
            for row in events.filter(processed_at__isnull=False)
            .annotate(lag=F("processed_at") - F("occurred_at"))
            .values("lag")
        )
        lost_before = datetime.now(UTC) - timedelta(seconds=LOST_AFTER_SECONDS)
        result = {
            "events_written": events.count(),
            "events_processed": len(lags),
            "events_failed": events.filter(failed_at__isnull=False).count(),
            "events_unprocessed_older_than_120s": events.filter(
                processed_at__isnull=True, failed_at__isnull=True, occurred_at__lt=lost_before
            ).count(),
            "event_lag_p50_s": round(lags[len(lags) // 2], 2) if lags else None,
            "event_lag_p95_s": round(lags[int(len(lags) * 0.95)], 2) if lags else None,
            "event_lag_max_s": round(lags[-1], 2) if lags else None,
            "renewal_charges": Charge.objects.filter(
                created_at__gte=since, kind=Charge.Kind.RENEWAL
            ).count(),
            "emails_written": OutboxEmail.objects.filter(created_at__gte=since).count(),
            # BASE_URL follows run_dev's --addrport: links point at the server running.
            "reactivation_emails": OutboxEmail.objects.filter(
                created_at__gte=since, body_text__contains="/reactivate/"
            ).count(),
            "reactivation_emails_linking_here": OutboxEmail.objects.filter(
                created_at__gte=since, body_text__contains=f"{base_url}/reactivate/"
            ).count(),
        }
    connections.close_all()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8350)
    parser.add_argument("--duration", type=float, default=7200, help="seconds of traffic")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between steps")
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "soak")
    parser.add_argument("--log", type=Path, help="default: <var-dir>/soak.log")
    parser.add_argument("--cpu-burners", type=int, default=0)
    parser.add_argument("--keep-env", action="store_true")
    options = parser.parse_args()

    var_dir = options.var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    log = Log(options.log or var_dir / "soak.log")
    env = {**os.environ, "VAR_DIR": str(var_dir), "DEBUG": "true", "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if not options.keep_env:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BASE_URL"):
            env.pop(name, None)
    os.environ.clear()
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))

    log.write("soak", f"start: port {options.port}, {options.duration:.0f} s, var {var_dir}")
    manage(env, log, "migrate", "--noinput")
    manage(env, log, "seed_demo")

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    from django.db import connections

    from accounts.models import Creator, Membership, Role
    from accounts.services import api_key_create

    demo = Creator.objects.get(slug="demo")
    owner = Membership.objects.filter(creator=demo, role=Role.OWNER).select_related("user")[0].user
    api_key = api_key_create(creator=demo, created_by=owner, name="soak").raw_key
    connections.close_all()

    started = datetime.now(UTC)
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "run_dev", "--addrport", f"127.0.0.1:{options.port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    watcher = StackWatcher(stack, log)
    watcher.start()
    burners = [multiprocessing.Process(target=burn) for _ in range(options.cpu_burners)]
    for burner in burners:
        burner.start()

    base = f"http://127.0.0.1:{options.port}"
    stack_exit: str | None = None
    traffic = Traffic(base, api_key, log)
    try:
        wait_for(f"{base}/login/", 120)
        traffic.sign_in()
        traffic.set_up_plan()
        deadline = time.monotonic() + options.duration
        tick = 0
        next_report = time.monotonic() + 300
        while time.monotonic() < deadline:
            if stack.poll() is not None:
                stack_exit = f"{now()} run_dev exited with code {stack.returncode}"
                log.write("soak", stack_exit)
                break
            step_started = time.monotonic()
            traffic.api_write(tick)
            traffic.page(tick)
            tick += 1
            if time.monotonic() >= next_report:
                log.write("soak", f"progress: {dict(traffic.counts)}; exits {dict(watcher.exits)}")
                next_report += 300
            time.sleep(max(0.0, options.interval - (time.monotonic() - step_started)))
    finally:
        for burner in burners:
            burner.terminate()
    # Let the worker and the sweeper finish what the last seconds produced.
    if stack_exit is None:
        wait_drained(started, 90)
    ended = datetime.now(UTC)
    stopped_cleanly = stack.poll() is None
    if stopped_cleanly:
        stack.send_signal(signal.SIGTERM)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
            stopped_cleanly = False
    watcher.join(timeout=10)
    done = work_done(started, base)
    failed_requests = sum(v for k, v in traffic.counts.items() if k.endswith("_failed"))
    summary = {
        "started_at": started.isoformat(timespec="seconds"),
        "ended_at": ended.isoformat(timespec="seconds"),
        "minutes": round((ended - started).total_seconds() / 60, 1),
        "stack_exit": stack_exit,
        "restarts": dict(watcher.exits),
        "critical_lines": watcher.critical[:20],
        "requests": dict(traffic.counts),
        "failed_requests": failed_requests,
        "failures": traffic.failures[:20],
        "work": done,
        "stopped_cleanly": stopped_cleanly,
    }
    summary["ok"] = (
        stack_exit is None
        and not watcher.exits
        and not watcher.critical
        and failed_requests == 0
        and done["events_processed"] > 0
        and done["events_unprocessed_older_than_120s"] == 0
        and done["events_failed"] == 0
        and done["renewal_charges"] > 0
        and done["reactivation_emails"] == done["reactivation_emails_linking_here"]
    )
    line = json.dumps(summary)
    (var_dir / "soak-summary.json").write_text(json.dumps(summary, indent=2))
    log.write("soak", f"summary: {line}")
    print(line)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
