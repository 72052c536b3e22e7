"""Real processes for fault-injection tests: web (gunicorn), Celery worker, Redis and a
private PostgreSQL cluster. Every process starts in its own session so that a SIGKILL of
its group takes its children (gunicorn workers, Celery pool processes) with it, and the
`ProcessGroup` kills whatever is left when the test ends, pass or fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
CHAOS_SETTINGS = "tests.reliability.chaos_settings"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "",
    describe: Callable[[], str] | None = None,
) -> Any:
    """Poll until `predicate()` is truthy; return its value or fail after `timeout` s,
    saying what `describe()` finds then (the state that did not reach the goal)."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing we wait for may raise until it is up
            last_exc = exc
        time.sleep(interval)
    state = ""
    if describe is not None:
        try:
            state = "\n" + describe()
        except Exception as exc:  # the description must not hide the timeout
            state = f"\n(could not describe the state: {exc!r})"
    raise TimeoutError(
        f"timed out after {timeout}s waiting for {what or predicate}: {last_exc!r}{state}"
    )


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self.env = env
        self.restarts = 0
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in kill()
        self.popen = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def restart_if_dead(self) -> bool:
        """Start the process again if it exited (what a supervisor's restart policy
        does: docker-compose's `restart: unless-stopped`, systemd's `Restart=always`)."""
        code = self.popen.poll()
        if code is None or self._log.closed:
            return False
        note = f"\n--- exited with code {code}; restarted by the supervisor ---\n"
        self._log.write(note.encode())
        self._log.flush()
        self.restarts += 1
        self.popen = self._spawn()
        return True

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process and everything it started (its whole session)."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self._log.close()

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def log_tail(self, chars: int = 4000) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class ProcessGroup:
    """Starts processes and guarantees they are all dead at `close()`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []
        self.cleanups: list[Callable[[], None]] = []
        self._supervisors: list[tuple[threading.Event, threading.Thread]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        log_path = self.log_dir / f"{name}-{len(self.procs)}.log"
        proc = Proc(name, args, env, log_path)
        self.procs.append(proc)
        return proc

    def supervise(self, proc: Proc, *, every: float = 0.5) -> None:
        """Restart `proc` whenever it exits, until `close()`, as production's process
        supervisor does; `proc.restarts` counts the restarts."""
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(every):
                proc.restart_if_dead()

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        self._supervisors.append((stop, thread))

    def close(self) -> None:
        for stop, thread in self._supervisors:
            stop.set()
            thread.join(timeout=5)
        for proc in reversed(self.procs):
            proc.kill()
        for cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ({p.log_path.name}) ---\n{p.log_tail()}" for p in self.procs
        )


def child_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment of a child Django process: the given database and Redis (broker and
    cache), the chaos settings (test URLs and probe consumer), short sweep delays."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "PYTEST_", "OUTBOX_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": CHAOS_SETTINGS,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CHAOS_REDIS_URL": redis_url,
            "OUTBOX_SWEEP_AFTER_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def start_redis(group: ProcessGroup) -> str:
    """A private redis-server (broker for the test) on a free port; returns its URL."""
    port = free_port()
    proc = group.start(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(group.log_dir),
        ],
        os.environ.copy(),
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    wait_until(lambda: proc.alive() and client.ping(), timeout=15, what="redis-server")
    client.close()
    return f"redis://127.0.0.1:{port}/0"


def start_gunicorn(group: ProcessGroup, env: dict[str, str], *, workers: int = 2) -> str:
    """Gunicorn with the app preloaded in the master, so a killed worker is re-forked at
    once (as in production); returns the base URL once it answers."""
    port = free_port()
    proc = group.start(
        "web",
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--preload",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ],
        env,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if not proc.alive():
            raise RuntimeError("gunicorn exited:\n" + proc.log_tail())
        with urllib.request.urlopen(f"{base}/_chaos/ping", timeout=2) as resp:
            return bool(resp.status == 200)

    wait_until(up, timeout=60, interval=0.3, what="gunicorn")
    return base


def start_worker(
    group: ProcessGroup, env: dict[str, str], *, name: str, concurrency: int = 2
) -> Proc:
    return group.start(
        name,
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "events,billing",
            "-c",
            str(concurrency),
            "--pool",
            "prefork",
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            env.get("CHAOS_WORKER_LOG_LEVEL", "WARNING"),
        ],
        env,
    )


def run_django(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `manage.py ARGS` to completion in a child process; return its output."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _private_app(broker_url: str) -> Any:
    """A Celery client for a test's private broker. Not the current app: the shared tasks
    of this process must keep publishing to the project's broker, not to this one."""
    from celery import Celery

    return Celery(broker=broker_url, set_as_current=False)


def send_sweep(broker_url: str) -> None:
    """Ask the workers to run the outbox sweeper now, as Celery beat does on schedule."""
    app = _private_app(broker_url)
    try:
        app.send_task(
            "subscriptions.tasks.run_scheduled_job", args=("outbox_sweep",), queue="events"
        )
    finally:
        app.close()


def send_events(broker_url: str, event_ids: list[int]) -> None:
    """Publish one `process_event` task per event, as the web does after each COMMIT."""
    app = _private_app(broker_url)
    try:
        for event_id in event_ids:
            app.send_task("subscriptions.tasks.process_event", args=(event_id,), queue="events")
    finally:
        app.close()


def sweep_until(
    broker_url: str, predicate: Callable[[], Any], *, timeout: float, every: float = 2.0
) -> Any:
    """Run the sweeper every `every` seconds (as beat does every SCHEDULED_JOB_INTERVAL)
    until `predicate()` holds; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        send_sweep(broker_url)
        step_deadline = min(deadline, time.monotonic() + every)
        while time.monotonic() < step_deadline:
            if predicate():
                return True
            time.sleep(0.2)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"sweeper did not bring about {predicate} within {timeout}s")


def http(
    method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with a timeout; (status, headers, body), or status 0 when the
    connection died without an answer."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}, b""


class PgCluster:
    """A private PostgreSQL cluster in a temporary directory (the shared server is never
    touched). Run as the `postgres` OS user when we are root, as PostgreSQL requires."""

    def __init__(self) -> None:
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4])
        )
        if not versions:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = Path(versions[-1])
        # Not under pytest's tmp_path: the postgres user could not reach it (root-only).
        self.base = Path(tempfile.mkdtemp(prefix="sm-test-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.log = self.base / "postgres.log"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(
            cmd, timeout=timeout, capture_output=True, text=True, cwd="/", check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base}"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts,
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base}"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts,
            "-m", mode, "-w", "-t", "30", "restart",
        )  # fmt: skip

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')  # name is ours, not input

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False
