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


SCENARIOS: list[Scenario] = [import_module(f"bench.scenarios.{name}").SCENARIO for name in MODULES]
