"""The one way a webhook leaves the building: an HTTP/1.1 POST that

- resolves the host itself and refuses private, loopback, link-local, CGNAT, multicast,
  reserved, unspecified, IPv4-mapped and metadata addresses (unless
  WEBHOOKS_ALLOW_PRIVATE_TARGETS), then connects to the vetted address itself, sending the
  original Host header and TLS SNI, so a DNS answer that changes between the check and
  the connection cannot redirect the request (DNS rebinding);
- has a TOTAL deadline (10 s): every socket operation gets only the time left, so a
  receiver that trickles a byte a second is cut at the deadline;
- reads at most `max_bytes` of the answer and never follows redirects (a 3xx fails);
- keeps the connection open for the next send to the same vetted address (HTTP/1.1
  keep-alive), when the answer was framed by a Content-Length within the cap. The host is
  still resolved and checked at every send, and a kept connection is used only when its
  address is the one this send vetted; so the pinning holds, and a busy endpoint costs one
  TCP (and TLS) handshake per worker process instead of one per delivery.

Plain sockets rather than an HTTP library, because pinning the address, the total
deadline and the read cap all need control of the socket.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEADLINE_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
EXCERPT_CHARS = 1000
USER_AGENT = "subscription-manager-webhooks/1"
# A kept connection idle longer than this is closed rather than reused: receivers close
# idle connections after a few seconds (gunicorn 2 s, Node 5 s), and a request written
# into a connection the receiver is closing is lost.
KEEPALIVE_IDLE_SECONDS = 2.0
KEEPALIVE_MAX_HOSTS = 64

_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("169.254.169.254/32"),  # cloud metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: reaches IPv4 space indirectly
]
_NUMERIC_HOST = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]+)(\.(0[xX][0-9a-fA-F]+|[0-9]+)){0,3}")


logger = logging.getLogger(__name__)


class TargetRefused(Exception):
    """The URL may not be called (SSRF rules or bad form). The message is for a creator."""


class DeliveryTimeout(Exception):
    pass


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    excerpt: str
    error: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


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


# Label separators IDNA maps to "." (UTS #46): a URL written with them reaches the same
# host as with ASCII dots, so the checks look at the host as it will be connected to.
_UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def host_as_connected(hostname: str) -> str | None:
    """The host name as a client will look it up (Unicode dots made ASCII, IDNA-encoded,
    lower case, no trailing dot); None when it cannot be encoded."""
    host = hostname.translate(_UNICODE_DOTS)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host.rstrip(".").lower()


def url_check(url: str, *, allow_private: bool, require_https: bool) -> SplitResult:
    """Form checks done when an endpoint is saved (DNS is checked again at each send)."""
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
        host = host_as_connected(parts.hostname)
        if host is None:
            raise TargetRefused("The URL's host name is not valid.")
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
        except (socket.gaierror, UnicodeError):
            raise TargetRefused(f"The host {host} could not be resolved.") from None
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
    if not addresses:
        raise TargetRefused(f"The host {host} has no address.")
    if not allow_private:
        for ip in addresses:
            if not address_allowed(ip):
                # Never say what the name resolved to: the error is shown to the creator,
                # and it would map our internal network for them.
                logger.info("refused %s: resolves to a non-public address %s", host, ip)
                raise TargetRefused(f"{host} is not an allowed address.")
    return addresses


class _Clock:
    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise DeliveryTimeout
        return remaining


class _ConnectionLost(Exception):
    """A kept connection turned out closed before any answer came: send on a new one."""


# (scheme, host name, vetted address, port, TLS context or None) -> idle connections.
_PoolKey = tuple[str, str, str, int, ssl.SSLContext | None]


class _Pool:
    """Idle kept-alive connections of this process (each Celery pool process has its
    own; a forked child drops what its parent had)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.idle: dict[_PoolKey, list[tuple[socket.socket, float]]] = {}

    def take(self, key: _PoolKey) -> socket.socket | None:
        with self.lock:
            if self.pid != os.getpid():  # forked: the sockets belong to the parent
                self.idle, self.pid = {}, os.getpid()
            kept = self.idle.get(key)
            while kept:
                sock, since = kept.pop()
                if time.monotonic() - since < KEEPALIVE_IDLE_SECONDS and _quiet(sock):
                    return sock
                sock.close()
        return None

    def give(self, key: _PoolKey, sock: socket.socket) -> None:
        with self.lock:
            if self.pid != os.getpid():
                self.idle, self.pid = {}, os.getpid()
            if key not in self.idle and len(self.idle) >= KEEPALIVE_MAX_HOSTS:
                for old, _ in self.idle.pop(next(iter(self.idle))):
                    old.close()
            kept = self.idle.setdefault(key, [])
            kept.append((sock, time.monotonic()))
            while len(kept) > 2:
                kept.pop(0)[0].close()

    def clear(self) -> None:
        with self.lock:
            for kept in self.idle.values():
                for sock, _ in kept:
                    sock.close()
            self.idle = {}


_POOL = _Pool()
_DEFAULT_TLS: ssl.SSLContext | None = None


def connections_close() -> None:
    """Close every kept connection of this process."""
    _POOL.clear()


def _quiet(sock: socket.socket) -> bool:
    """An idle connection has nothing to read; if it has, the receiver closed it (or
    sent something unasked) and it is not reused."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _default_tls() -> ssl.SSLContext:
    global _DEFAULT_TLS
    if _DEFAULT_TLS is None:  # loading the CA bundle costs milliseconds: once per process
        _DEFAULT_TLS = ssl.create_default_context()
    return _DEFAULT_TLS


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
    clock = _Clock(deadline)

    def result(status: int | None, excerpt: str, error: str) -> SendResult:
        return SendResult(status, excerpt, error, time.monotonic() - clock.start)

    try:
        parts = url_check(url, allow_private=allow_private, require_https=False)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(host, port, allow_private=allow_private)
    except TargetRefused as exc:
        return result(None, "", str(exc))
    key: _PoolKey = (parts.scheme, host, str(addresses[0]), port, ssl_context)
    try:
        kept = _POOL.take(key)
        raw: bytes | None = None
        if kept is not None:
            try:
                raw = _exchange(parts, kept, key, body, headers, clock, max_bytes, reused=True)
            except _ConnectionLost:
                raw = None  # the receiver had closed it: once more on a new connection
        if raw is None:
            sock = _connect(parts, addresses[0], port, clock, ssl_context)
            raw = _exchange(parts, sock, key, body, headers, clock, max_bytes, reused=False)
    except DeliveryTimeout:
        return result(None, "", f"No complete answer within {deadline:g} s.")
    except ssl.SSLError as exc:
        return result(None, "", f"TLS failed: {exc.reason or type(exc).__name__}.")
    except OSError as exc:
        if isinstance(exc, TimeoutError | socket.timeout):
            return result(None, "", f"No complete answer within {deadline:g} s.")
        return result(None, "", f"Could not connect: {exc.strerror or type(exc).__name__}.")
    return _parse(raw, result)


def _connect(
    parts: SplitResult,
    ip: IPAddress,
    port: int,
    clock: _Clock,
    ssl_context: ssl.SSLContext | None,
) -> socket.socket:
    sock: socket.socket = socket.create_connection((str(ip), port), timeout=clock.left())
    if parts.scheme == "https":
        try:
            context = ssl_context or _default_tls()
            sock.settimeout(clock.left())
            # SNI and certificate check use the name, the connection the vetted address.
            sock = context.wrap_socket(sock, server_hostname=parts.hostname or "")
        except BaseException:
            sock.close()
            raise
    return sock


def _exchange(
    parts: SplitResult,
    sock: socket.socket,
    key: _PoolKey,
    body: bytes,
    headers: dict[str, str],
    clock: _Clock,
    max_bytes: int,
    *,
    reused: bool,
) -> bytes:
    """Send the request and read the answer; the connection is kept for the next send
    only when the answer ended exactly where its Content-Length said."""
    keep = False
    try:
        host = parts.hostname or ""
        host_header = host if ":" not in host else f"[{host}]"
        if parts.port:
            host_header += f":{parts.port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"POST {target} HTTP/1.1",
            f"Host: {host_header}",
            f"User-Agent: {USER_AGENT}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: keep-alive",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        received = bytearray()
        try:
            sock.settimeout(clock.left())
            sock.sendall(request)
            limit = MAX_HEADER_BYTES + max_bytes
            while len(received) < limit:
                sock.settimeout(clock.left())
                chunk = sock.recv(min(65536, limit - len(received)))
                if not chunk:
                    break
                received += chunk
                if _complete(received):
                    keep = _reusable(received, max_bytes)
                    break
        except OSError as exc:
            # Reset or EOF on a kept connection before any answer: the receiver closed it
            # while it was idle. A timeout is not that, and is not retried.
            if reused and not received and not isinstance(exc, TimeoutError):
                raise _ConnectionLost from exc
            raise
        if reused and not received:
            raise _ConnectionLost
        return bytes(received)
    finally:
        if keep:
            _POOL.give(key, sock)
        else:
            sock.close()


def _complete(received: bytearray) -> bool:
    head, sep, rest = bytes(received).partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                return len(rest) >= int(value.strip())
            except ValueError:
                return False
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            return rest.endswith(b"0\r\n\r\n")
    return False  # read until the server closes (Connection: close)


def _reusable(received: bytearray, max_bytes: int) -> bool:
    """The answer is exactly headers + Content-Length bytes (within the cap), HTTP/1.1,
    and the receiver did not ask to close: the connection can carry the next request."""
    head, _, rest = bytes(received).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 "):
        return False
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"connection" and b"close" in value.lower():
            return False
        if name == b"transfer-encoding":
            return False
        if name == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return False
    return length is not None and length <= max_bytes and len(rest) == length


def _parse(raw: bytes, result):  # type: ignore[no-untyped-def]
    head, sep, rest = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    match = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", status_line)
    if not match:
        return result(None, "", "The answer was not HTTP.")
    status = int(match.group(1))
    excerpt = rest[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    if not sep:
        return result(status, "", "The answer's headers were cut off or too large.")
    if 300 <= status < 400:
        return result(status, excerpt, f"Redirects are not followed (HTTP {status}).")
    if not 200 <= status < 300:
        return result(status, excerpt, f"HTTP {status}.")
    return result(status, excerpt, "")
