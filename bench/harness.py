"""Shared machinery of the benchmarks: environment, timing, results file and table.

Every scenario reports the project's figure, a baseline measured in the same run on the
same services, and their ratio; absolute numbers alone mean little on shared machines.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/subscriptions_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass
class Result:
    id: str
    title: str
    metric: str
    value: float
    baseline_value: float
    target: str
    # "higher" when a bigger value is better (throughput), "lower" for durations/latency.
    better: str
    target_ratio: float
    details: dict[str, Any] = field(default_factory=dict)
    extra_checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if not self.baseline_value:
            return 0.0
        return self.value / self.baseline_value

    @property
    def met(self) -> bool:
        ratio_ok = (
            self.ratio >= self.target_ratio
            if self.better == "higher"
            else self.ratio <= self.target_ratio
        )
        return ratio_ok and all(self.extra_checks.values())

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("title")
        data.pop("better")
        data.pop("target_ratio")
        data.pop("extra_checks")
        data["ratio"] = round(self.ratio, 3)
        data["met"] = self.met
        data["details"] = {**self.details, "title": self.title, "checks": self.extra_checks}
        return data


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    run: Callable[[float], Result]


def machine() -> dict[str, Any]:
    def _cmd(args: list[str]) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "postgres": _cmd(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"]
        ),
        "redis": _cmd(["redis-server", "--version"]).split(" ")[2].removeprefix("v=")
        if _cmd(["redis-server", "--version"])
        else "unknown",
        "python": platform.python_version(),
    }


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def write_results(results: list[Result], *, quick: bool, path: str | None = None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "scenarios": [r.as_json() for r in results],
    }
    # A quick run never overwrites the committed full results.
    target = Path(path) if path else RESULTS_DIR / ("latest-quick.json" if quick else "latest.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2) + "\n")
    return target


def table(results: list[Result]) -> str:
    lines = [
        "| id | scenario | metric | value | baseline | ratio | target | met |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.id} | {r.title} | {r.metric} | {r.value:,.2f} | {r.baseline_value:,.2f} "
            f"| {r.ratio:.2f} | {r.target} | {'yes' if r.met else 'no'} |"
        )
    return "\n".join(lines)


def broker_purge() -> None:
    """Empty the benchmark's own Redis database (never another one): messages a scenario
    published without a worker must not become the next scenario's backlog."""
    import redis

    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    redis.Redis.from_url(url).flushdb()


def events_mark_processed() -> None:
    """Mark every outbox event processed, so later scenarios' sweeps start empty."""
    from django.utils import timezone

    from subscriptions.models import SubscriptionEvent

    SubscriptionEvent.objects.filter(processed_at__isnull=True).update(processed_at=timezone.now())


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(c) for c in text]
    except OSError:
        return found
    for child in list(found):
        found += _children(child)
    return found


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident set (VmHWM) of a process and its children, in MB: each
    process of a prefork pool holds its own memory, so the largest one is the figure to
    hold against a per-process budget."""
    peaks = []
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return round(max(peaks, default=0.0), 1)


class Process:
    """A child process in its own process group, stopped (with its children) on exit."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, name: str = ""):
        self.name = name or args[0]
        self.log = RESULTS_DIR.parent / "logs" / f"{self.name}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.log.open("w")
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.popen.pid)

    def stop(self) -> None:
        import signal

        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._out.close()

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def celery_worker(
    name: str,
    *,
    queues: str,
    concurrency: int = 2,
    env: dict[str, str] | None = None,
    include: str = "",
) -> Process:
    import sys

    return Process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *(["-I", include] if include else []),
        ],
        env=env,
        name=name,
    )


def wait_until(check: Callable[[], bool], *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()
