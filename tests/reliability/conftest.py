from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.reliability.procs import ProcessGroup


@pytest.fixture
def live_db_url(transactional_db: None) -> str:
    """URL of the test database, for child processes: the test's data is committed
    (transactional_db) so they see it, and the tables are emptied afterwards."""
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[ProcessGroup]:
    """Processes started by the test; all killed at the end, their logs printed (shown
    by pytest when the test failed). Request it after `live_db_url` so that the children
    are gone before the test database is emptied."""
    group = ProcessGroup(tmp_path)
    try:
        yield group
    finally:
        group.close()
        print(group.logs())
