"""A webhook receiver on 127.0.0.1 that verifies every request with the
`standardwebhooks` package, as a creator's own code would."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(
        self, secret: str, statuses: list[int] | None = None, answer: bytes = b'{"ok": true}'
    ) -> None:
        self.webhook = Webhook(secret)
        self.statuses = list(statuses or [200])
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out as two writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK (40 ms on Linux) on every answer.
            disable_nagle_algorithm = True

            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    receiver.webhook.verify(body, headers)
                    verified = True
                except Exception:
                    verified = False
                receiver.received.append(Received(time.time(), self.path, headers, body, verified))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                payload = answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
