"""What every fake provider shares: a real HTTP server on 127.0.0.1 that keeps state
like the provider does (contacts, list memberships, tags), records every request, and
can be told to fail the next requests with the provider's documented error answers.

A fake is built from the provider's own definitions (its SDK's models and its API
reference, cited in each fake), never from what our adapter sends: a request the
provider would refuse is refused here the same way. The property tests
(`test_properties.py`) and the end-to-end test read the state through the same small
interface (`contact()`, `seed_*()`), so adding a provider means adding a fake here and
one line in `FAKES` (`fakes/__init__.py`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

# List statuses as the property tests compare them, whatever the provider calls them.
SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
PENDING = "pending"
TRANSACTIONAL = "transactional"
ARCHIVED = "archived"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float
    status: int = 0  # the answer's status, once answered


@dataclass(frozen=True)
class Effect:
    """A request that applied an action: a tag added (`add_tag`, tag name) or a list
    joined (`add_to_list`, list id), also when the contact already had it."""

    email: str
    action: str
    target: str
    at: float


@dataclass
class ContactView:
    """A contact as the provider holds it, in provider-neutral words."""

    email: str
    first_name: str | None
    last_name: str | None
    lists: dict[str, str]  # list id → SUBSCRIBED, UNSUBSCRIBED, PENDING, …
    tags: set[str]


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    """Subclasses implement `route()` (under the lock) and the state helpers."""

    provider: ClassVar[str]
    # The request keys that carry a first and a last name.
    first_name_key: ClassVar[str]
    last_name_key: ClassVar[str]

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.failures: list[tuple[str, Reply]] = []  # (path prefix, answer), used in order
        self.api_key = f"key-{uuid.uuid4().hex}"
        self.delay = 0.0
        self._next_id = 100
        # Every request that applied an action; the end-to-end test counts these.
        self.effects: list[Effect] = []

    # --- server ------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode(errors="replace")
                call = Call(
                    self.command, unquote(parts.path), parse_qs(parts.query), body, time.time()
                )
                if fake.delay:
                    time.sleep(fake.delay)
                with fake.lock:
                    fake.calls.append(call)
                    reply = fake._failure_for(call) or fake.authorize(dict(self.headers))
                    if reply is None:
                        try:
                            reply = fake.route(call)
                        except Exception as exc:  # a fake bug must not look like success
                            reply = Reply(599, {"message": f"fake provider error: {exc!r}"})
                    call.status = reply.status
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a caller killed mid-call

        self.httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeProvider:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _failure_for(self, call: Call) -> Reply | None:
        for index, (prefix, reply) in enumerate(self.failures):
            if call.path.startswith(prefix):
                del self.failures[index]
                return reply
        return None

    def fail_next(self, reply: Reply, *, path_prefix: str = "/", times: int = 1) -> None:
        """The next `times` requests under `path_prefix` get `reply` (state unchanged)."""
        with self.lock:
            self.failures += [(path_prefix, reply)] * times

    def effect(self, email: str, action: str, target: str) -> None:
        self.effects.append(Effect(email.strip().lower(), action, target, time.time()))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- what subclasses provide -------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        raise NotImplementedError

    def authorize(self, headers: dict[str, str]) -> Reply | None:
        """The provider's answer to a request without the right key, else None."""
        raise NotImplementedError

    def route(self, call: Call) -> Reply:
        raise NotImplementedError

    def rate_limited(self) -> Reply:
        """The provider's documented 429 answer, with its headers."""
        raise NotImplementedError

    def seed_list(self, name: str) -> str:
        raise NotImplementedError

    def seed_tags(self, names: list[str], *, list_id: str | None = None) -> None:
        raise NotImplementedError

    def seed_contact(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        lists: dict[str, str] | None = None,
        tags: set[str] | None = None,
    ) -> None:
        raise NotImplementedError

    def contact(self, email: str) -> ContactView | None:
        raise NotImplementedError

    def contacts(self) -> list[ContactView]:
        raise NotImplementedError

    # --- reading the record ------------------------------------------------------------

    def calls_to(self, method: str, path_part: str = "") -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and path_part in c.path]

    def writes(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method != "GET"]

    def keys_sent(self) -> set[str]:
        """Every key of every JSON body sent so far, at any depth."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for key, inner in value.items():
                    found.add(str(key))
                    walk(inner)
            elif isinstance(value, list):
                for inner in value:
                    walk(inner)

        with self.lock:
            for call in self.calls:
                walk(call.body)
        return found


def unknown_keys(body: Any, allowed: set[str]) -> list[str]:
    return sorted(set(body) - allowed) if isinstance(body, dict) else ["<not an object>"]
