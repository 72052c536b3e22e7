"""A real HTTP server on 127.0.0.1 for contract tests: answers are scripted per
(method, path), every request is recorded (method, path, query, headers, body)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def json_answer(status: int = 200, payload: Any = None, **headers: str) -> Answer:
    body = b"" if payload is None else json.dumps(payload).encode()
    return Answer(
        status=status,
        body=body,
        headers={
            "Content-Type": "application/json",
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
    )


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer] | Callable[[Recorded], Answer]] = {}
        self.default = json_answer(404, {"message": "not scripted"})
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out as two writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK (40 ms on Linux) on every answer.
            disable_nagle_algorithm = True

            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.time(),
                )
                with server._lock:
                    server.requests.append(recorded)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    answer = server.answer_for(recorded)
                    if answer.delay:
                        time.sleep(answer.delay)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answer in turn; the last answer repeats."""
        self.routes[(method, path)] = list(answers)

    def on_call(self, method: str, path: str, fn: Callable[[Recorded], Answer]) -> None:
        self.routes[(method, path)] = fn

    def answer_for(self, recorded: Recorded) -> Answer:
        with self._lock:
            route = self.routes.get((recorded.method, recorded.path))
            if route is None:
                return self.default
            if callable(route):
                return route(recorded)
            return route.pop(0) if len(route) > 1 else route[0]

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]
