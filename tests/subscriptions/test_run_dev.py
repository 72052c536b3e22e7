"""`manage.py run_dev` (what `make run` starts) on the embedded defaults: SQLite, the
embedded Celery broker, no Redis. Real processes, real HTTP on 127.0.0.1.

- the stack under traffic (API sales, cancellations and reactivation requests every
  second, page loads) for a few minutes, two CPU-bound processes beside it: no crash, no
  restart, no failed request, and the work done (scripts/soak_dev.py, also the two-hour
  soak of docs/running.md);
- a worker or beat killed is started again while the web keeps answering;
- BASE_URL follows --addrport; DEBUG is on for the children unless set.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from subscriptions.management.commands.run_dev import _base_url
from tests.reliability.procs import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
SOAK_SECONDS = int(os.environ.get("DEV_STACK_SOAK_SECONDS", "150"))


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {**os.environ, "VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BASE_URL", "DEBUG"):
        env.pop(name, None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.mark.slow
def test_dev_stack_survives_minutes_of_traffic_and_does_the_work(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "scripts/soak_dev.py",
            "--port",
            str(port),
            "--duration",
            str(SOAK_SECONDS),
            "--interval",
            "1",
            "--cpu-burners",
            "2",
            "--var-dir",
            str(tmp_path / "var"),
        ],
        cwd=REPO,
        env=_embedded_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=SOAK_SECONDS + 420,
        check=False,
    )
    log = (tmp_path / "var" / "soak.log").read_text() if (tmp_path / "var").exists() else ""
    assert result.stdout.strip(), f"no summary; stderr:\n{result.stderr[-3000:]}\n{log[-3000:]}"
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    context = f"{json.dumps(summary, indent=2)}\n--- log tail ---\n{log[-4000:]}"

    assert summary["stack_exit"] is None, context
    assert summary["restarts"] == {}, context
    assert summary["critical_lines"] == [], context
    assert summary["failed_requests"] == 0, context
    requests = summary["requests"]
    # One API write and one page a second: sales, cancellations and reactivation requests.
    assert requests["sale"] >= SOAK_SECONDS // 3 * 0.8, context
    assert requests["cancel"] >= SOAK_SECONDS // 3 * 0.8, context
    assert requests["reactivation_request"] >= SOAK_SECONDS // 3 * 0.7, context
    assert requests["page"] >= SOAK_SECONDS * 0.8, context
    work = summary["work"]
    # Every sale, cancellation and reactivation writes events; all handed to the worker.
    assert work["events_written"] >= requests["sale"] + requests["cancel"], context
    assert work["events_processed"] == work["events_written"], context
    assert work["events_failed"] == 0, context
    assert work["renewal_charges"] >= 5, context  # beat ran the renewals job (seed: 5 due)
    assert work["reactivation_emails"] >= requests["reactivation_request"] * 0.9, context
    assert work["reactivation_emails_linking_here"] == work["reactivation_emails"], context
    assert summary["stopped_cleanly"], context
    assert result.returncode == 0, context


class RunDev:
    def __init__(self, tmp_path: Path, port: int, extra_env: dict[str, str]) -> None:
        env = {**_embedded_env(tmp_path / "var"), **extra_env}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env={**env, "DEBUG": "true"},
            check=True,
            capture_output=True,
        )
        self.log_path = tmp_path / "run_dev.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_dev", "--addrport", f"127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pid_of(self, child: str, nth_start: int = 1) -> int:
        pids = re.findall(rf"\] {child} (?:started|restarted) \(pid (\d+)", self.log())
        return int(pids[nth_start - 1]) if len(pids) >= nth_start else 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


@pytest.mark.slow
def test_a_dead_worker_or_beat_is_restarted_and_the_web_stays_up(tmp_path: Path) -> None:
    stack = RunDev(tmp_path, free_port(), {})
    try:
        wait_until(
            lambda: httpx.get(f"{stack.url}/login/", timeout=2).status_code == 200,
            timeout=60,
            what="the web server",
        )
        for child in ("worker", "beat"):
            pid = wait_until(lambda child=child: stack.pid_of(child), timeout=10, what=child)
            os.kill(pid, signal.SIGKILL)
            wait_until(
                lambda child=child: stack.pid_of(child, 2),
                timeout=30,
                what=f"{child} restarted\n{stack.log()}",
            )
            assert stack.pid_of(child, 2) != pid
            assert re.search(rf"{child} exited with code -9 after \d+ s; restarting", stack.log())
            assert httpx.get(f"{stack.url}/login/", timeout=5).status_code == 200
        assert stack.process.poll() is None, stack.log()
        # The restarted worker consumes again: a fresh beat tick reaches it.
        wait_until(
            lambda: stack.log().count("run_due_jobs") >= 2,
            timeout=90,
            interval=1,
            what=f"run_due_jobs after the restarts\n{stack.log()[-3000:]}",
        )
    finally:
        stack.stop()
    assert stack.process.returncode == 0, stack.log()[-3000:]
    assert "web exited" not in stack.log()
    for child in ("web", "worker", "beat"):
        pid = stack.pid_of(child, 2) or stack.pid_of(child)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_base_url_follows_addrport() -> None:
    assert _base_url("127.0.0.1:8300") == "http://127.0.0.1:8300"
    assert _base_url("8300") == "http://127.0.0.1:8300"
    assert _base_url("0.0.0.0:8300") == "http://127.0.0.1:8300"
    assert _base_url("localhost:8001") == "http://localhost:8001"


def test_base_url_refuses_a_bad_addrport() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--addrport must be PORT or HOST:PORT"):
        _base_url("127.0.0.1:http")


def _debug_after_manage(argv: list[str], env: dict[str, str]) -> str:
    """DEBUG as manage.py leaves it for `argv`, without running the command."""
    probe = (
        f"import os, sys; sys.argv = {argv!r};"
        "import django.core.management as m; m.execute_from_command_line = lambda argv: None;"
        "import manage; manage.main(); print(os.environ.get('DEBUG'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_run_dev_asks_for_debug_and_nothing_else_does(tmp_path: Path) -> None:
    env = _embedded_env(tmp_path)
    assert _debug_after_manage(["manage.py", "run_dev"], env) == "true"
    assert _debug_after_manage(["manage.py", "run_dev"], {**env, "DEBUG": "false"}) == "false"
    assert _debug_after_manage(["manage.py", "migrate"], env) == "None"
