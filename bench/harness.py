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


def write_results(results: list[Result], *, quick: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "scenarios": [r.as_json() for r in results],
    }
    path = RESULTS_DIR / ("latest-quick.json" if quick else "latest.json")
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


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
