"""Stateful fakes of the providers, built from their documentation (each module cites
the pages it follows). They run as a real HTTP server on 127.0.0.1 (`FakeServer`):
scripted answers (`on()`) still win, anything else is answered from the fake's state."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.notifications.http_server import Answer, FakeServer, Recorded, json_answer

Handler = Callable[..., Answer]


class ProviderFake(FakeServer):
    """Subclasses register `(method, path regex) → handler(recorded, *groups)`."""

    routes_spec: list[tuple[str, str, str]] = []  # (method, regex, handler method name)

    def __init__(self) -> None:
        super().__init__()
        self._compiled = [
            (method, re.compile(pattern), name) for method, pattern, name in self.routes_spec
        ]

    def answer_for(self, recorded: Recorded) -> Answer:
        with self._lock:
            scripted = (recorded.method, recorded.path) in self.routes
        if scripted:
            return super().answer_for(recorded)
        with self._lock:
            refused = self.authenticate(recorded)
            if refused is not None:
                return refused
            for method, pattern, name in self._compiled:
                match = pattern.fullmatch(unquote(recorded.path))
                if method == recorded.method and match:
                    answer: Answer = getattr(self, name)(recorded, *match.groups())
                    return answer
        return self.not_found()

    def authenticate(self, recorded: Recorded) -> Answer | None:
        return None

    def not_found(self) -> Answer:
        return json_answer(404, {"message": "Not Found"})


def body(recorded: Recorded) -> Any:
    if not recorded.body:
        return None
    try:
        return json.loads(recorded.body)
    except json.JSONDecodeError:
        return None


def query(recorded: Recorded, name: str, default: str = "") -> str:
    return recorded.query.get(name, [default])[0]
