"""The one way a webhook leaves the building: an HTTP/1.1 POST that

- resolves the host itself and refuses private, loopback, link-local, CGNAT, multicast,
  reserved, unspecified, IPv4-mapped and metadata addresses (unless
  WEBHOOKS_ALLOW_PRIVATE_TARGETS), then connects to the vetted address itself, sending the
  original Host header and TLS SNI, so a DNS answer that changes between the check and
  the connection cannot redirect the request (DNS rebinding);
- has a TOTAL deadline (10 s): every socket operation gets only the time left, so a
  receiver that trickles a byte a second is cut at the deadline;
- reads at most `max_bytes` of the answer and never follows redirects (a 3xx fails).

Plain sockets rather than an HTTP library, because pinning the address, the total
deadline and the read cap all need control of the socket.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEADLINE_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
EXCERPT_CHARS = 1000
USER_AGENT = "subscription-manager-webhooks/1"

_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("169.254.169.254/32"),  # cloud metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: reaches IPv4 space indirectly
]
_NUMERIC_HOST = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]+)(\.(0[xX][0-9a-fA-F]+|[0-9]+)){0,3}")


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
                    "webhooks are only sent to public addresses."
                )
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
    try:
        raw = _exchange(parts, addresses[0], port, body, headers, clock, max_bytes, ssl_context)
    except DeliveryTimeout:
        return result(None, "", f"No complete answer within {deadline:g} s.")
    except ssl.SSLError as exc:
        return result(None, "", f"TLS failed: {exc.reason or type(exc).__name__}.")
    except OSError as exc:
        if isinstance(exc, TimeoutError | socket.timeout):
            return result(None, "", f"No complete answer within {deadline:g} s.")
        return result(None, "", f"Could not connect: {exc.strerror or type(exc).__name__}.")
    return _parse(raw, result)


def _exchange(
    parts: SplitResult,
    ip: IPAddress,
    port: int,
    body: bytes,
    headers: dict[str, str],
    clock: _Clock,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
) -> bytes:
    host = parts.hostname or ""
    sock: socket.socket = socket.create_connection((str(ip), port), timeout=clock.left())
    try:
        if parts.scheme == "https":
            context = ssl_context or ssl.create_default_context()
            sock.settimeout(clock.left())
            # SNI and certificate check use the name, the connection the vetted address.
            sock = context.wrap_socket(sock, server_hostname=host)
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
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        sock.settimeout(clock.left())
        sock.sendall(request)
        received = bytearray()
        limit = MAX_HEADER_BYTES + max_bytes
        while len(received) < limit:
            sock.settimeout(clock.left())
            chunk = sock.recv(min(65536, limit - len(received)))
            if not chunk:
                break
            received += chunk
            if _complete(received):
                break
        return bytes(received)
    finally:
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
