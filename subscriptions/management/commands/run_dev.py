"""`manage.py run_dev`: the whole product on one machine for `make run`.

Starts a Celery worker with embedded beat (all queues) and Django's development
server as child processes, prints where to go and how to sign in, and stops both
cleanly on Ctrl-C. With the default settings this needs no Redis: Celery uses the
filesystem transport under VAR_DIR.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from subscriptions.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD

QUEUES = "events,deliveries,email,billing,webhooks"
STOP_TIMEOUT = 15


class Command(BaseCommand):
    help = "Run the web server and a Celery worker with beat (development)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        addrport = options["addrport"]
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        # Development: DEBUG on for the server and the worker unless the caller chose.
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
        worker = subprocess.Popen(  # noqa: S603 — fixed argv, no shell
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "-Q",
                QUEUES,
                "--concurrency",
                str(options["concurrency"]),
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
            env=env,
        )
        web = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", addrport, "--noreload"],
            cwd=settings.BASE_DIR,
            env=env,
        )
        # SIGTERM (e.g. from a supervisor) stops everything like Ctrl-C does.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        url = f"http://{addrport}"
        self.stdout.write(
            f"\n  Dashboard: {url}/\n  Admin:     {url}/admin/\n"
            f"  Login:     {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
            "  Ctrl-C stops the server and the worker.\n"
        )
        try:
            while worker.poll() is None and web.poll() is None:
                time.sleep(0.5)
            # Ctrl-C in a terminal reaches the children too; they may exit first.
            self.stdout.write("the server or the worker stopped; stopping the other one")
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            _stop(web)
            _stop(worker)


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
