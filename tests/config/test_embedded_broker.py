"""The embedded Celery broker of `make run` (config/settings.py) is safe with several
processes: publishers in other processes and a consumer polling at the same time, every
message delivered once and no error (the filesystem transport it replaced raised
JSONDecodeError and lost messages here: docs/running.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_embedded_broker_url_is_the_sqlite_transport() -> None:
    from config import settings as config_settings

    assert config_settings.EMBEDDED_BROKER_PATH.name == "celery-broker.sqlite3"
    probe = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {probe}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().startswith("sqla+sqlite:///")
    assert out.stdout.strip().endswith("/var/celery-broker.sqlite3")


@pytest.mark.slow
def test_several_publishing_processes_and_a_consumer_lose_nothing() -> None:
    result = subprocess.run(
        [
            *(sys.executable, "scripts/broker_race.py", "--broker", "embedded"),
            *("--producers", "4", "--messages", "150", "--timeout", "240"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {
        "broker": "embedded",
        "expected": 600,
        "received": 600,
        "duplicates": 0,
        "errors": 0,
        "first_errors": [],
    }, result.stderr[-2000:]
