"""`make bench-quick` runs once in the test suite (smoke marker), so the benchmarks cannot
rot: every scenario runs at a tenth of its size and lands in the results file with the
documented keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {"B1", "B2", "B3", "B4", "B5", "B6", "B7"}
KEYS = {"id", "metric", "value", "baseline_value", "ratio", "target", "met", "details"}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.mark.smoke
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_quick_writes_every_scenario(tmp_path: Path) -> None:
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sm")
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    output = tmp_path / "quick.json"
    env = {
        **os.environ,
        # Databases of its own, named after the test database so parallel runs never meet.
        "BENCH_DATABASE_URL": _with_database(database, f"{urlsplit(database).path[1:]}_benchq"),
        "BENCH_REDIS_URL": redis,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=570,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    assert {"date", "machine", "scenarios"} <= results.keys()
    assert {"cpus", "memory", "postgres", "redis", "python"} <= results["machine"].keys()
    assert {s["id"] for s in results["scenarios"]} == SCENARIOS
    for scenario in results["scenarios"]:
        assert scenario.keys() >= KEYS, scenario["id"]
        assert scenario["value"] > 0, scenario["id"]
        assert scenario["baseline_value"] > 0, scenario["id"]
        assert isinstance(scenario["met"], bool)
    # The table is printed at the end for people.
    assert "| id | scenario |" in done.stdout
