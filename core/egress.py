"""The one way an HTTP request leaves the building: outbound webhooks and the
email-marketing providers both call out through this module.

- **SSRF guard.** The host is resolved here and refused if any of its addresses is
  private, loopback, link-local, CGNAT, multicast, reserved, unspecified, IPv4-mapped,
  NAT64 or a metadata address, in any form a resolver accepts (`2130706433`, `0x7f.1`,
  `[::ffff:7f00:1]`…). The check runs after DNS resolution, and the connection goes to
  the address that was checked (TLS SNI and the certificate check still use the name),
  so a DNS answer that changes between the check and the connection cannot redirect the
  request (rebinding). A kept connection stays bound to the address vetted when it was
  opened. Callers without the guard (an operator's `PROVIDER_BASE_URLS`, or
  `WEBHOOKS_ALLOW_PRIVATE_TARGETS` in development) are still pinned the same way.
- **No redirects**: a 3xx is an answer, never followed.
- **A deadline for the whole exchange.** httpx's timeouts apply per socket operation, so
  a server trickling a byte a second never trips them; inside `deadline(seconds)` every
  connect, read and write gets only the time left.
- **A size cap**: `read_capped` reads at most `max_bytes` of the (decoded) answer.
- **Kept connections per target**: one pooled httpx client per process and guard mode
  (HTTP/1.1 keep-alive, idle connections closed after KEEPALIVE_IDLE_SECONDS), so a busy
  endpoint costs one TCP (and TLS) handshake per worker process, not one per request.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import certifi
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEADLINE_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 1000
USER_AGENT = "subscription-manager-webhooks/1"
# A kept connection idle longer than this is closed rather than reused: receivers close
# idle connections after a few seconds (gunicorn 2 s, Node 5 s), and a request written
# into a connection the receiver is closing is lost.
KEEPALIVE_IDLE_SECONDS = 2.0
KEEPALIVE_MAX_CONNECTIONS = 64

_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("169.254.169.254/32"),  # cloud metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: reaches IPv4 space indirectly
]
_NUMERIC_HOST = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]+)(\.(0[xX][0-9a-fA-F]+|[0-9]+)){0,3}")


class TargetRefused(Exception):
    """The URL may not be called (SSRF rules or bad form). The message is for a creator."""


class ResponseTooLarge(Exception):
    pass


# --- the guard ----------------------------------------------------------------------------


def address_allowed(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return False
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or any(ip in net for net in _EXTRA_BLOCKED)
    ):
        return False
    return ip.is_global


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally, in any form a resolver would accept:
    dotted, IPv6, and the decimal/octal/hex/short forms (`2130706433`, `0x7f.1`,
    `0177.0.0.1`, `127.1`) that inet_aton turns into 127.0.0.1."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def url_check(url: str, *, allow_private: bool, require_https: bool) -> SplitResult:
    """Form checks, without DNS (the host is resolved and checked again at each call)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("The URL is not valid.") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("Webhook URLs must start with https:// (or http:// in development).")
    if require_https and parts.scheme != "https":
        raise TargetRefused("Webhook URLs must use https://.")
    if not parts.hostname:
        raise TargetRefused("The URL needs a host name.")
    if parts.username or parts.password:
        raise TargetRefused("Put no user name or password in the URL; verify our signature.")
    if port == 0:
        raise TargetRefused("The URL's port is not valid.")
    if not allow_private:
        host = parts.hostname.rstrip(".").lower()
        literal = ip_literal(host)
        if (
            (literal is not None and not address_allowed(literal))
            or host == "localhost"
            or (host.endswith(".localhost"))
        ):
            raise TargetRefused(
                "Webhook URLs may not point at private, loopback or link-local addresses."
            )
    return parts


def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Every address the host resolves to; refused if ANY of them is not public."""
    literal = ip_literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetRefused(f"The host {host!r} could not be resolved ({exc}).") from None
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
    if not addresses:
        raise TargetRefused(f"The host {host!r} has no address.")
    if not allow_private:
        for ip in addresses:
            if not address_allowed(ip):
                raise TargetRefused(
                    f"The host {host!r} resolves to {ip}, a private or reserved address; "
                    "requests are only sent to public addresses."
                )
    return addresses


# --- the total deadline -------------------------------------------------------------------

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "egress_deadline", default=None
)
# Connections opened by the exchange under way (tells a reused connection from a new one).
_OPENED: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "egress_opened", default=None
)


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
    """A network stream whose every operation ends by the call's total deadline.

    Writes are held until the first read and then sent as one: httpcore writes a
    request's headers and body separately, and with TCP_NODELAY each write is a packet.
    One write is one packet fewer, and a receiver that answers after its first read
    (many do) has the whole request by then: otherwise it may close with the body
    unread, which resets the connection under our answer."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._pending = bytearray()

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            pending, self._pending = bytes(self._pending), bytearray()
            self._inner.write(pending, _clamp(timeout, httpcore.WriteTimeout))
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _clamp(timeout, httpcore.WriteTimeout)
        self._pending += buffer

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
    """httpcore's sync backend, connecting only to the address it resolved and (with
    `guard`) vetted, and always within the call's total deadline."""

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
        try:
            addresses = resolve(host, port, allow_private=not self.guard)
        except TargetRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        opened = _OPENED.get()
        if opened is not None:
            opened[0] += 1
        # Connect to what was checked, never re-resolve.
        stream = self._inner.connect_tcp(
            str(addresses[0]),
            port,
            timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for outbound calls")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# --- the kept connections ----------------------------------------------------------------

_POOLS: dict[tuple[int, bool], httpcore.ConnectionPool] = {}
_CLIENTS: dict[tuple[int, bool], httpx.Client] = {}
_LOCK = threading.Lock()
_TLS: ssl.SSLContext | None = None


def _default_tls() -> ssl.SSLContext:
    """The system's CAs plus certifi's (httpcore's default), loaded once per process:
    loading the bundle costs milliseconds, and httpcore would do it per connection."""
    global _TLS
    if _TLS is None:
        context = ssl.create_default_context()
        context.load_verify_locations(certifi.where())
        _TLS = context
    return _TLS


def _new_pool(*, guard: bool, ssl_context: ssl.SSLContext | None = None) -> httpcore.ConnectionPool:
    return httpcore.ConnectionPool(
        ssl_context=ssl_context or _default_tls(),
        max_connections=100,
        max_keepalive_connections=KEEPALIVE_MAX_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_IDLE_SECONDS,
        network_backend=GuardedBackend(guard=guard),
    )


def _forget_other_processes(pid: int) -> None:
    # A forked child (a Celery pool process) must not use its parent's sockets, nor close
    # them (they are the parent's): it drops the references and opens its own.
    for table in (_POOLS, _CLIENTS):
        for key in [k for k in table if k[0] != pid]:
            del table[key]


def pool(*, guard: bool) -> httpcore.ConnectionPool:
    """This process's kept connections for the guard mode (a TLS context costs ~0.2 s to
    build: once per process). Shared by webhooks and provider calls."""
    pid = os.getpid()
    found = _POOLS.get((pid, guard))
    if found is not None:
        return found
    with _LOCK:
        _forget_other_processes(pid)
        return _POOLS.setdefault((pid, guard), _new_pool(guard=guard))


def client(*, guard: bool) -> httpx.Client:
    """An httpx client (for the provider adapters) over this process's kept connections."""
    pid = os.getpid()
    found = _CLIENTS.get((pid, guard))
    if found is not None:
        return found
    shared = pool(guard=guard)
    with _LOCK:
        transport = httpx.HTTPTransport()
        # httpx has no public hook for the connection pool; its transport keeps it here.
        if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx changed: the egress client cannot be installed")
        transport._pool.close()
        transport._pool = shared
        made = httpx.Client(transport=transport, follow_redirects=False)
        return _CLIENTS.setdefault((pid, guard), made)


def connections_close() -> None:
    """Close every kept connection of this process."""
    with _LOCK:
        pid = os.getpid()
        for (owner, _), kept in list(_POOLS.items()):
            if owner == pid:
                kept.close()
        _POOLS.clear()
        _CLIENTS.clear()


def read_capped(response: httpx.Response, max_bytes: int, *, truncate: bool = False) -> bytes:
    """The streamed answer's body, at most `max_bytes` (decoded): beyond that either
    cut (`truncate`) or refused with ResponseTooLarge."""
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"the answer declares {declared} bytes")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            if truncate:
                return bytes(body[:max_bytes])
            raise ResponseTooLarge(f"the answer is larger than {max_bytes} bytes")
    return bytes(body)


def exchange(
    http: httpx.Client,
    request: httpx.Request,
    *,
    seconds: float,
    max_bytes: int,
    truncate: bool = False,
    auth: httpx.Auth | tuple[str, str] | None = None,
) -> httpx.Response:
    """Send `request` and read its answer within `seconds` in total and `max_bytes`;
    the answer comes back with its body read (and decoded). A request written into a
    kept connection that the receiver had closed meanwhile goes once more on a new one.
    Raises httpx's errors, TargetRefused (as httpx.ConnectError) and ResponseTooLarge."""
    for attempt in (1, 2):
        opened = [0]
        token = _OPENED.set(opened)
        try:
            with deadline(seconds):
                response = http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT, stream=True)
                try:
                    body = read_capped(response, max_bytes, truncate=truncate)
                finally:
                    response.close()
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            if attempt == 1 and opened[0] == 0:
                continue  # the kept connection was dead before any answer came
            raise
        finally:
            _OPENED.reset(token)
        break
    # The body is decoded already: drop the headers that describe its wire form.
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(response.status_code, headers=headers, content=body, request=request)


# --- a POST that never raises (outbound webhooks) -----------------------------------------


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    excerpt: str
    error: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    deadline: float = DEADLINE_SECONDS,
    max_bytes: int = MAX_RESPONSE_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """POST `body` as JSON; the outcome as a SendResult (an error is a text for the
    delivery log, never an exception). A 2xx whose body is longer than `max_bytes` still
    succeeds: the receiver answered, and only the first `EXCERPT_CHARS` are kept.

    Straight on httpcore (the connection pool under httpx): a webhook needs none of
    httpx's request and response models, which cost twice the time of the exchange."""
    started = time.monotonic()

    def result(status: int | None, excerpt: str, error: str) -> SendResult:
        return SendResult(status, excerpt, error, time.monotonic() - started)

    try:
        parts = url_check(url, allow_private=allow_private, require_https=False)
    except TargetRefused as exc:
        return result(None, "", str(exc))
    host = parts.hostname or ""
    host_header = host if ":" not in host else f"[{host}]"
    if parts.port:
        host_header += f":{parts.port}"
    request_headers = [
        ("Host", host_header),
        ("User-Agent", USER_AGENT),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *headers.items(),
    ]
    # A caller's own TLS context (tests, a private CA) gets connections of its own.
    connections = (
        pool(guard=not allow_private)
        if ssl_context is None
        else _new_pool(guard=not allow_private, ssl_context=ssl_context)
    )
    timeouts = {"connect": deadline, "read": deadline, "write": deadline, "pool": deadline}
    try:
        for attempt in (1, 2):
            opened = [0]
            token = _OPENED.set(opened)
            try:
                status, received = _post_once(
                    connections, url, request_headers, body, timeouts, deadline, max_bytes
                )
            except (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError):
                if attempt == 1 and opened[0] == 0:
                    continue  # the kept connection was dead before any answer came
                raise
            finally:
                _OPENED.reset(token)
            break
    except httpcore.TimeoutException:
        return result(None, "", f"No complete answer within {deadline:g} s.")
    except httpcore.ConnectError as exc:
        refused = _cause(exc, TargetRefused)
        if refused is not None:
            return result(None, "", str(refused))
        tls = _cause(exc, ssl.SSLError)
        if isinstance(tls, ssl.SSLError):
            return result(None, "", f"TLS failed: {tls.reason or type(tls).__name__}.")
        os_error = _cause(exc, OSError)
        reason = getattr(os_error, "strerror", None) or type(os_error or exc).__name__
        return result(None, "", f"Could not connect: {reason}.")
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        return result(None, "", f"The answer was not valid HTTP ({type(exc).__name__}).")
    finally:
        if ssl_context is not None:
            connections.close()
    excerpt = received[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    if 300 <= status < 400:
        return result(status, excerpt, f"Redirects are not followed (HTTP {status}).")
    if not 200 <= status < 300:
        return result(status, excerpt, f"HTTP {status}.")
    return result(status, excerpt, "")


def _post_once(
    connections: httpcore.ConnectionPool,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    timeouts: dict[str, float],
    seconds: float,
    max_bytes: int,
) -> tuple[int, bytes]:
    """One exchange within `seconds` in total; the status and at most `max_bytes` of the
    body. Leaving the stream before its end closes the connection instead of keeping it."""
    received = bytearray()
    with (
        deadline(seconds),
        connections.stream(
            "POST", url, headers=headers, content=body, extensions={"timeout": timeouts}
        ) as response,
    ):
        for chunk in response.iter_stream():
            received += chunk
            if len(received) > max_bytes:
                break
    return response.status, bytes(received[:max_bytes])
