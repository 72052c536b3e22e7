"""How a provider call reaches the network: the webhooks' SSRF guard, a total deadline
and a size cap, for httpx.

- Every connection goes through `GuardedBackend.connect_tcp`: the host is resolved once,
  refused if ANY address is private, loopback, link-local, CGNAT, IPv4-mapped, metadata
  or in a decimal/octal/hex form of one (the same rules as webhooks,
  `notifications.webhooks.transport`), and the socket connects to the vetted address,
  so a DNS answer that changes between check and connect cannot redirect the call.
  TLS SNI and the certificate check still use the host name (httpx passes it on).
  Hosts from PROVIDER_BASE_URLS are operator configuration and are not guarded.
- httpx's timeouts are per socket operation, so a server that trickles a byte a second
  never trips them. `deadline(seconds)` sets a total deadline for the calls made inside
  it: every read, write and connect gets only the time left, then times out.
- `read_capped` reads at most `max_bytes` of a streamed answer.
"""

from __future__ import annotations

import contextvars
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from notifications.webhooks.transport import TargetRefused, resolve

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "provider_deadline", default=None
)


class ResponseTooLarge(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Calls made inside the block end, at the latest, `seconds` from now."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _clamp(timeout: float | None, exc: type[Exception]) -> float | None:
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise exc("the total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the call's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to vetted public addresses (when
    `guard` is on) and always within the call's total deadline."""

    def __init__(self, *, guard: bool) -> None:
        self.guard = guard
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        target = host
        if self.guard:
            try:
                addresses = resolve(host, port, allow_private=False)
            except TargetRefused as exc:
                raise httpcore.ConnectError(str(exc)) from None
            target = str(addresses[0])  # connect to what was checked, never re-resolve
        stream = self._inner.connect_tcp(
            target, port, timeout, local_address=local_address, socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for provider calls")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def client(*, guard: bool) -> httpx.Client:
    """A pooled httpx client whose connections go through `GuardedBackend`."""
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=100))
    # httpx has no public hook for the network backend; its pool keeps it here.
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpcore changed: the provider egress guard cannot be installed")
    pool._network_backend = GuardedBackend(guard=guard)
    return httpx.Client(transport=transport, follow_redirects=False)


def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The streamed answer's body, refusing more than `max_bytes` (decoded)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"the answer declares {declared} bytes")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLarge(f"the answer is larger than {max_bytes} bytes")
    return bytes(body)
