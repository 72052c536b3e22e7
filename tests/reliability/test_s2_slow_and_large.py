"""S2: a receiver that trickles one byte a second, or answers 100 MB, cannot hold a
webhook or a provider call: the call ends by its 10 s deadline and reads no more than
its size cap.

The hostile servers are real sockets on 127.0.0.1 (allowed for the webhook sender with
`allow_private=True`, for providers through PROVIDER_BASE_URLS, the operator's setting:
the deadline and the cap apply there too). The deadlines are the real ones (10 s).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from core import egress
from notifications.providers.base import ProviderError
from notifications.providers.http import ProviderClient

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

DEADLINE = 10.0
HUNDRED_MB = 100 * 1024 * 1024


class HostileServer:
    """Answers every connection with `behave(conn)`; counts the bytes it got out."""

    def __init__(self, behave: Callable[[socket.socket, HostileServer], None]) -> None:
        self.behave = behave
        self.sent = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            self.behave(conn, self)

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def trickle(conn: socket.socket, server: HostileServer) -> None:
    """One byte a second, forever: even the status line never completes in time."""
    payload = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 10_000
    for byte in payload:
        if server.stop.is_set():
            return
        server.send(conn, bytes([byte]))
        time.sleep(1)


def hundred_mb(conn: socket.socket, server: HostileServer) -> None:
    """A 200 with 100 MB of body and no length announced (read until close)."""
    server.send(
        conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    )
    chunk = b"[" + b"0," * 32767 + b"0"
    while server.sent < HUNDRED_MB and not server.stop.is_set():
        server.send(conn, chunk)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], HostileServer]]:
    servers: list[HostileServer] = []

    def start(behave: Any) -> HostileServer:
        servers.append(HostileServer(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _webhook(url: str) -> str:
    # A 2xx whose body is cut at the cap still counts as delivered: the receiver answered.
    result = egress.post(url + "/hook", body=b"{}", headers={}, allow_private=True)
    return result.error


def _provider(url: str) -> str:
    django_settings.PROVIDER_BASE_URLS = {"activecampaign": url}
    client = ProviderClient(
        provider="activecampaign",
        label="ActiveCampaign",
        base_url="https://youraccount.api-us1.com",
        headers={},
    )
    with pytest.raises(ProviderError) as info:
        client.request("GET", "/api/3/lists")
    return info.value.message


CALLERS: dict[str, Callable[[str], str]] = {"webhook": _webhook, "provider": _provider}


@pytest.fixture(autouse=True)
def _real_limits(settings: Any) -> None:
    settings.PROVIDER_TIMEOUT_SECONDS = DEADLINE
    settings.PROVIDER_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
    settings.PROVIDER_BASE_URLS = {}
    assert egress.DEADLINE_SECONDS == DEADLINE


@pytest.mark.slow
@pytest.mark.parametrize("caller", CALLERS)
def test_a_receiver_trickling_one_byte_a_second_is_cut_at_the_10s_deadline(caller, serve):
    server = serve(trickle)
    started = time.monotonic()
    error = CALLERS[caller](server.url)
    elapsed = time.monotonic() - started
    assert "within 10 s" in error
    assert DEADLINE - 0.5 <= elapsed <= DEADLINE + 1.5, elapsed
    assert 5 <= server.sent <= 13  # about one byte per second until we hung up


@pytest.mark.parametrize("caller", CALLERS)
def test_a_100_mb_answer_is_cut_at_the_size_cap(caller, serve):
    server = serve(hundred_mb)
    started = time.monotonic()
    error = CALLERS[caller](server.url)
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE
    if caller == "provider":
        assert "more than 4194304 bytes" in error
    else:
        assert error == ""  # the 200 was read; the body stopped at MAX_RESPONSE_BYTES
    # We stopped reading at the cap and hung up: the server could not push 100 MB
    # (what it got out beyond the cap sits in the kernel's socket buffers).
    time.sleep(0.5)
    assert server.sent < 16 * 1024 * 1024, server.sent
