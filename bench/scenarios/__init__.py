"""The benchmark scenarios, in the order they run. Each module exposes `SCENARIO`.

Cheap, database-free scenarios first; B4 builds the million-row data set that B3 reads.
"""

from __future__ import annotations

from importlib import import_module

from bench.harness import Scenario

MODULES = [
    "b7_conditions",
    "b5_renewals",
    "b4_preview",
    "b3_pages",
    "b1_deliveries",
    "b6_webhooks",
    "b2_reactivation",
]


def _load() -> list[Scenario]:
    scenarios = []
    for name in MODULES:
        try:
            module = import_module(f"bench.scenarios.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.scenarios.{name}":
                raise
            continue  # not written yet (its product path has not landed)
        scenarios.append(module.SCENARIO)
    return scenarios


SCENARIOS: list[Scenario] = _load()
