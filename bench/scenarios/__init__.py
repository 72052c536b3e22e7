"""The benchmark scenarios, in the order they run. Each module exposes `SCENARIO`."""

from __future__ import annotations

from bench.harness import Scenario

SCENARIOS: list[Scenario] = []
