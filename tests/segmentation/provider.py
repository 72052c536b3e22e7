"""A small provider adapter for tests, registered like a real one, talking HTTP to a
local fake provider (`FakeProviderServer`), so the HTTP boundary in tests is real.

The Celery worker of the end-to-end test imports this module (`--include`)."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

import httpx
from django.conf import settings

from notifications.providers import (
    Contact,
    EmailMarketingProvider,
    ListInfo,
    ProviderError,
    TagInfo,
    register,
)


@functools.cache
def _client() -> httpx.Client:
    return httpx.Client()


class TestMailProvider(EmailMarketingProvider):
    name = "testmail"
    label = "Test mail"
    credential_fields = ("api_key",)

    @property
    def base_url(self) -> str:
        return settings.PROVIDER_BASE_URLS[self.name].rstrip("/")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        try:
            # One pooled client per process, like the real adapters' (a client per call
            # loads the CA bundle each time: ~10 ms, more on a busy machine).
            response = _client().request(
                method,
                self.base_url + path,
                json=payload,
                headers={"Authorization": f"Bearer {self.credentials.get('api_key', '')}"},
                timeout=settings.PROVIDER_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"network error: {exc}", permanent=False) from None
        if response.status_code < 400:
            return response.json() if response.content else None
        message = f"{self.label} answered {response.status_code}: {response.text[:200]}"
        retry_after = response.headers.get("Retry-After")
        if response.status_code in (401, 403):
            raise ProviderError(message, permanent=True, auth=True, status=response.status_code)
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderError(
                message,
                permanent=False,
                status=response.status_code,
                retry_after=float(retry_after) if retry_after else None,
            )
        raise ProviderError(message, permanent=True, status=response.status_code)

    def validate(self) -> None:
        self._call("GET", "/account")

    def lists(self) -> list[ListInfo]:
        return [ListInfo(id=x["id"], name=x["name"]) for x in self._call("GET", "/lists")]

    def tags(self, list_id: str | None = None) -> list[TagInfo]:
        return [TagInfo(id=x["id"], name=x["name"]) for x in self._call("GET", "/tags")]

    def add_to_list(self, contact: Contact, list_id: str) -> None:
        self._call("POST", f"/lists/{quote(list_id)}/members", {"email": contact.email})

    def remove_from_list(self, contact: Contact, list_id: str) -> None:
        self._call("DELETE", f"/lists/{quote(list_id)}/members/{quote(contact.email)}")

    def add_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        self._call("POST", f"/contacts/{quote(contact.email)}/tags", {"tag": tag})

    def remove_tag(self, contact: Contact, tag: str, list_id: str | None = None) -> None:
        self._call("DELETE", f"/contacts/{quote(contact.email)}/tags/{quote(tag)}")

    def action_applied(
        self, action_type: str, contact: Contact, *, list_id: str | None = None, tag: str = ""
    ) -> bool | None:
        adding = action_type.startswith("add_")
        try:
            if action_type.endswith("_tag"):
                present = tag in self._call("GET", f"/contacts/{quote(contact.email)}/tags")
            else:
                self._call("GET", f"/lists/{quote(list_id or '')}/members/{quote(contact.email)}")
                present = True
        except ProviderError as exc:
            if exc.status != 404:
                raise
            present = False
        return present if adding else not present


class TestAudienceProvider(TestMailProvider):
    """Like Mailchimp: tags live inside a list (audience)."""

    name = "testaudience"
    label = "Test audience"
    tags_need_list = True


register(TestMailProvider)
register(TestAudienceProvider)


@dataclass
class Call:
    method: str
    path: str
    body: Any
    at: float


@dataclass
class FakeProviderServer:
    """A fake provider on 127.0.0.1: records every call; answers 200 unless scripted.

    `script` is a list of (status, headers) answers used in order, one per request.
    Like a real provider it keeps state (contacts, their tags, list members), changed by
    the successful writes and read by `GET /contacts/{email}/tags` and
    `GET /lists/{id}/members/{email}` (404 when absent)."""

    calls: list[Call] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Seconds each answer takes (a slow provider, so a test can kill a worker mid-run).
    delay: float = 0.0
    # Hold the answer to the n-th tag call (1-based) until `release` is set: the call
    # has arrived and acted, its caller does not know yet (a test kills it meanwhile).
    hold_tag_call: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    tags: dict[str, set[str]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out as two writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK (40 ms on Linux) on every answer.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if fake.delay:
                    time.sleep(fake.delay)
                with fake.lock:
                    fake.calls.append(
                        Call(
                            self.command,
                            unquote(self.path),
                            json.loads(raw) if raw else None,
                            time.time(),
                        )
                    )
                    status, headers = fake.script.pop(0) if fake.script else (200, {})
                    answer: Any = {"error": "scripted"}
                    if status < 400:
                        answer = fake.apply(self.command, unquote(self.path), raw)
                        if answer == 404:
                            status, answer = 404, {"error": "not found"}
                    hold = self.command == "POST" and self.path.endswith("/tags")
                    hold = hold and len(fake.calls_to("POST", "/tags", locked=True)) == (
                        fake.hold_tag_call
                    )
                if hold:
                    fake.held.set()
                    fake.release.wait(60)
                body = json.dumps({"ok": True} if answer is None else answer).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a caller killed mid-call: nothing to answer, nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def apply(self, method: str, path: str, raw: bytes) -> Any:
        """Change or read the state for one successful request (called under the lock).
        Returns the JSON answer, None for the default one, or 404 when a read finds
        nothing."""
        body = json.loads(raw) if raw else {}
        if m := re.fullmatch(r"/contacts/([^/]+)", path):
            if method == "PUT":
                self.tags.setdefault(m[1], set())
        elif m := re.fullmatch(r"/contacts/([^/]+)/tags", path):
            if method == "POST":
                self.tags.setdefault(m[1], set()).add(body.get("tag", ""))
            elif method == "GET":
                return sorted(self.tags[m[1]]) if m[1] in self.tags else 404
        elif m := re.fullmatch(r"/contacts/([^/]+)/tags/([^/]+)", path):
            if method == "DELETE":
                self.tags.get(m[1], set()).discard(m[2])
        elif m := re.fullmatch(r"/lists/([^/]+)/members", path):
            if method == "POST":
                self.members.setdefault(m[1], set()).add(body.get("email", ""))
        elif m := re.fullmatch(r"/lists/([^/]+)/members/([^/]+)", path):
            if method == "DELETE":
                self.members.get(m[1], set()).discard(m[2])
            elif method == "GET":
                return {"email": m[2]} if m[2] in self.members.get(m[1], set()) else 404
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls_to(self, method: str, suffix: str = "", *, locked: bool = False) -> list[Call]:
        if not locked:
            with self.lock:
                return self.calls_to(method, suffix, locked=True)
        return [c for c in self.calls if c.method == method and c.path.endswith(suffix)]
