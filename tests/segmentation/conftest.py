from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.segmentation import provider as _provider  # noqa: F401  (registers the adapters)
from tests.segmentation.provider import FakeProviderServer


@pytest.fixture
def fake_provider(settings: Any) -> Iterator[FakeProviderServer]:
    server = FakeProviderServer()
    url = server.start()
    settings.PROVIDER_BASE_URLS = {"testmail": url, "testaudience": url}
    yield server
    server.stop()
