"""A local ActiveCampaign stand-in for the dashboard's tests: the real adapter talks HTTP
to it (PROVIDER_BASE_URLS), so the builder's list/tag dropdowns and "send test" go
through the provider code end to end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.notifications.http_server import FakeServer, json_answer

LISTS = [{"id": "7", "name": "Customers"}, {"id": "8", "name": "Newsletter"}]
TAGS = [{"id": "3", "tag": "churned"}, {"id": "4", "tag": "vip"}]


def script(server: FakeServer) -> FakeServer:
    server.on("GET", "/api/3/users/me", json_answer(200, {"user": {"id": "1"}}))
    server.on("GET", "/api/3/lists", json_answer(200, {"lists": LISTS, "meta": {"total": "2"}}))
    server.on("GET", "/api/3/tags", json_answer(200, {"tags": TAGS, "meta": {"total": "2"}}))
    server.on("POST", "/api/3/contact/sync", json_answer(200, {"contact": {"id": "42"}}))
    server.on("POST", "/api/3/tags", json_answer(201, {"tag": {"id": "10", "tag": "new"}}))
    server.on("POST", "/api/3/contactTags", json_answer(201, {"contactTag": {"id": "9"}}))
    server.on("POST", "/api/3/contactLists", json_answer(200, {"contactList": {"id": "5"}}))
    return server


@contextmanager
def activecampaign(settings: Any) -> Iterator[FakeServer]:
    with FakeServer() as server:
        settings.PROVIDER_BASE_URLS = {"activecampaign": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield script(server)
