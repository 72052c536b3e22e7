"""A `FakeProvider` whose answers are methods picked by (method, path pattern), for the
fakes of MailerLite, Kit and RD Station. Also keeps each request's headers (the tests
check the auth header) and finds calls by exact path."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tests.notifications.providers.fakes.base import Call, FakeProvider, Reply


class RoutedFake(FakeProvider):
    # (method, full-match regex of the unquoted path, name of the answering method)
    routes: ClassVar[list[tuple[str, str, str]]] = []

    def __init__(self) -> None:
        super().__init__()
        self._compiled = [(m, re.compile(p), name) for m, p, name in self.routes]

    def authorize(self, headers: dict[str, str]) -> Reply | None:
        lowered = {k.lower(): v for k, v in headers.items()}
        self.calls[-1].headers = lowered  # type: ignore[attr-defined]  # under the lock
        return self.refuse(lowered)

    def refuse(self, headers: dict[str, str]) -> Reply | None:
        """The provider's answer to a request without valid credentials, else None."""
        raise NotImplementedError

    def route(self, call: Call) -> Reply:
        for method, pattern, name in self._compiled:
            match = pattern.fullmatch(call.path)
            if match and method == call.method:
                reply: Reply = getattr(self, name)(call, *match.groups())
                return reply
        return self.not_found()

    def not_found(self) -> Reply:
        raise NotImplementedError

    def calls_exact(self, method: str | None = None, path: str | None = None) -> list[Call]:
        with self.lock:
            return [
                c
                for c in self.calls
                if (method is None or c.method == method) and (path is None or c.path == path)
            ]


def query(call: Call, name: str, default: str = "") -> str:
    return (call.query.get(name) or [default])[0]


def body(call: Call) -> Any:
    return call.body if isinstance(call.body, dict) else {}
