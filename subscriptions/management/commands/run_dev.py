"""`manage.py run_dev`: the whole product on one machine for `make run`.

Starts Django's development server, a Celery worker and Celery beat as child processes,
prints where to go and how to sign in, and supervises them: a child that dies is started
again (after a pause that grows while it keeps dying), so a crashed worker never takes
the web server down. Ctrl-C or SIGTERM stops all three. With the default settings this
needs no Redis: Celery uses the embedded SQLite broker under VAR_DIR.

Development only: the children run with `DEBUG=true` (unless `DEBUG` is set) and
`BASE_URL` follows `--addrport` (unless `BASE_URL` is set), so emailed links point at
the server that is running.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD

QUEUES = "events,deliveries,email,billing,webhooks"
STOP_TIMEOUT = 15
# A child that ran this long before dying starts again at once; one that keeps dying
# sooner waits twice as long each time, up to MAX_RESTART_DELAY.
HEALTHY_AFTER_SECONDS = 60.0
MAX_RESTART_DELAY = 30.0
# Delivered messages of the embedded broker are kept by kombu (marked invisible); they
# are deleted this often so the queue file stays small over hours.
BROKER_HOUSEKEEPING_SECONDS = 600.0


@dataclass
class Child:
    """One supervised process: how to start it and its restart bookkeeping."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float = 0.0
    restart_at: float | None = None
    history: list[str] = field(default_factory=list)

    def start(self) -> None:
        # Own process group: Ctrl-C reaches only run_dev, which stops the children in
        # order instead of all of them dying at once and looking like crashes.
        self.process = subprocess.Popen(  # noqa: S603 — fixed argv, no shell
            self.argv, cwd=settings.BASE_DIR, env=self.env, process_group=0
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat, restarting any that dies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        addrport = options["addrport"]
        base_url = _base_url(addrport)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        _prepare_embedded_broker()
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
        env.setdefault("BASE_URL", base_url)
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        children = [
            Child(
                "web",
                [sys.executable, "manage.py", "runserver", addrport, "--noreload"],
                env,
            ),
            Child(
                "worker",
                [
                    *celery,
                    "worker",
                    "-Q",
                    QUEUES,
                    "--concurrency",
                    str(options["concurrency"]),
                    "--loglevel",
                    "INFO",
                ],
                env,
            ),
            Child(
                "beat",
                [
                    *celery,
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ],
                env,
            ),
        ]
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        for child in children:
            child.start()
            self._log(f"{child.name} started (pid {child.pid})")
        self.stdout.write(
            f"\n  Dashboard: {base_url}/\n  Admin:     {base_url}/admin/\n"
            f"  Login:     {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
            "  Ctrl-C stops the server, the worker and beat.\n"
        )
        self.stdout.flush()
        try:
            self._supervise(children)
        except KeyboardInterrupt:
            self._log("stopping")
        finally:
            # Web first (no new work), then beat, then the worker finishes what it holds.
            for child in children:
                if child.process is not None:
                    _stop(child.process)

    def _supervise(self, children: list[Child]) -> None:
        next_housekeeping = time.monotonic() + BROKER_HOUSEKEEPING_SECONDS
        while True:
            now = time.monotonic()
            for child in children:
                self._check(child, now)
            if now >= next_housekeeping:
                _delete_delivered_broker_messages()
                next_housekeeping = now + BROKER_HOUSEKEEPING_SECONDS
            time.sleep(0.5)

    def _check(self, child: Child, now: float) -> None:
        process = child.process
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                child.start()
                self._log(f"{child.name} restarted (pid {child.pid}, restart #{child.restarts})")
            return
        if process is None or process.poll() is None:
            return
        ran_for = now - child.started_at
        if ran_for >= HEALTHY_AFTER_SECONDS:
            child.delay = 0.0
        else:
            child.delay = min(max(child.delay * 2, 1.0), MAX_RESTART_DELAY)
        child.restart_at = now + child.delay
        self._log(
            f"{child.name} exited with code {process.returncode} after {ran_for:.0f} s; "
            f"restarting in {child.delay:.0f} s"
        )

    def _log(self, message: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.stdout.write(f"[run_dev {stamp}] {message}")
        self.stdout.flush()


def _base_url(addrport: str) -> str:
    """The URL of `runserver ADDRPORT` as a browser on this machine reaches it."""
    host, _, port = addrport.rpartition(":")
    if not port.isdigit():
        raise CommandError(f"--addrport must be PORT or HOST:PORT, not {addrport!r}")
    if host in ("", "0.0.0.0", "0", "[::]", "::"):  # noqa: S104 — a URL for this machine
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _embedded_broker_file() -> str | None:
    url = settings.CELERY_BROKER_URL
    prefix = "sqla+sqlite:///"
    return url[len(prefix) :] if url.startswith(prefix) else None


def _prepare_embedded_broker() -> None:
    """Write-ahead logging lets the worker poll while the web and beat publish."""
    path = _embedded_broker_file()
    if path is None:
        return
    with sqlite3.connect(path, timeout=30) as db:
        db.execute("PRAGMA journal_mode=WAL")


def _delete_delivered_broker_messages() -> None:
    path = _embedded_broker_file()
    if path is None:
        return
    try:
        with sqlite3.connect(path, timeout=30) as db:
            db.execute("DELETE FROM kombu_message WHERE visible = 0")
    except sqlite3.Error:
        pass  # the table does not exist yet, or stays locked: the next round tries again


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ask politely (SIGTERM: Celery's warm shutdown finishes running tasks), then kill."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
