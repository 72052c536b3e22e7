"""The egress client (core/egress.py) as the webhook sender uses it: SSRF guard after
DNS resolution, the connection pinned to the vetted address, total deadline, size cap,
no redirects, kept connections. tests/reliability/test_s1_ssrf.py and
test_s2_slow_and_large.py hold the S1/S2 guarantees for webhooks and providers alike."""

from __future__ import annotations

import contextlib
import socket

import pytest

from core import egress
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def connects(monkeypatch):  # type: ignore[no-untyped-def]
    """Record every outgoing connection attempt made by the sender."""
    seen: list[object] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(egress.socket, "create_connection", spy)
    return seen


def test_a_hostname_resolving_to_loopback_is_refused_without_connecting(connects, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        # hooks.example.com points at this machine, as a hostile DNS answer would.
        return real("127.0.0.1" if host == "hooks.example.com" else host, port, *args, **kwargs)

    monkeypatch.setattr(egress.socket, "getaddrinfo", resolver)
    with Receiver("whsec_" + "A" * 44) as receiver:
        result = egress.post(
            f"http://hooks.example.com:{receiver.port}/hooks",
            body=b"{}",
            headers={},
            allow_private=False,
        )
        by_name = egress.post(
            f"http://localhost:{receiver.port}/hooks", body=b"{}", headers={}, allow_private=False
        )
    assert result.status_code is None
    assert "resolves to 127.0.0.1, a private or reserved address" in result.error
    assert by_name.status_code is None and "loopback" in by_name.error
    assert connects == []
    assert receiver.received == []


def test_dns_rebinding_to_private_address_is_refused(connects, monkeypatch):
    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(egress.socket, "getaddrinfo", resolver)
    result = egress.post(
        "https://hooks.example.com/in", body=b"{}", headers={}, allow_private=False
    )
    assert "10.0.0.7" in result.error
    assert connects == []


def test_the_connection_goes_to_the_vetted_address_with_the_original_host(connects, monkeypatch):
    with Receiver("whsec_" + "A" * 44) as receiver:
        calls: list[str] = []

        def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(egress.socket, "getaddrinfo", resolver)
        result = egress.post(
            f"http://hooks.example.com:{receiver.port}/in",
            body=b"{}",
            headers={"webhook-id": "x"},
            allow_private=True,
        )
    assert result.ok, result.error
    assert calls.count("hooks.example.com") == 1  # resolved once, by us
    assert connects == [("127.0.0.1", receiver.port)]
    assert receiver.received[0].headers["host"] == f"hooks.example.com:{receiver.port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://017700000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://localhost/",
        "http://api.localhost/",
    ],
)
def test_private_and_disguised_addresses_are_refused(url, connects):
    with pytest.raises(egress.TargetRefused):
        egress.url_check(url, allow_private=False, require_https=False)
    result = egress.post(url, body=b"{}", headers={}, allow_private=False)
    assert result.status_code is None and result.error
    assert connects == []


def _raw_server(handler):  # type: ignore[no-untyped-def]
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            with contextlib.suppress(OSError):
                handler(conn)

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_trickling_receiver_is_cut_at_the_total_deadline():
    import time

    def trickle(conn):  # type: ignore[no-untyped-def]
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    server = _raw_server(trickle)
    started = time.monotonic()
    result = egress.post(
        f"http://127.0.0.1:{server.getsockname()[1]}/",
        body=b"{}",
        headers={},
        allow_private=True,
        deadline=0.6,
    )
    elapsed = time.monotonic() - started
    server.close()
    assert not result.ok
    assert "within 0.6 s" in result.error
    assert 0.55 <= elapsed < 0.9


def test_the_answer_is_read_only_up_to_the_cap():
    def flood(conn):  # type: ignore[no-untyped-def]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n")
        chunk = b"y" * 65536
        for _ in range(80):
            conn.sendall(chunk)

    server = _raw_server(flood)
    result = egress.post(
        f"http://127.0.0.1:{server.getsockname()[1]}/",
        body=b"{}",
        headers={},
        allow_private=True,
        max_bytes=1024,
    )
    server.close()
    assert result.ok
    assert len(result.excerpt) <= egress.EXCERPT_CHARS


def test_redirects_are_failures_and_not_followed():
    def redirect(conn):  # type: ignore[no-untyped-def]
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n"
        )

    server = _raw_server(redirect)
    result = egress.post(
        f"http://127.0.0.1:{server.getsockname()[1]}/", body=b"{}", headers={}, allow_private=True
    )
    server.close()
    assert result.status_code == 302
    assert not result.ok and "Redirects are not followed" in result.error


def test_a_kept_connection_is_reused_and_a_closed_one_replaced(connects):
    egress.connections_close()
    with Receiver("whsec_" + "A" * 44) as receiver:
        for _ in range(3):
            assert egress.post(receiver.url, body=b"{}", headers={}, allow_private=True).ok
        assert len(connects) == 1  # one TCP connection for the three sends
        egress.connections_close()
        assert egress.post(receiver.url, body=b"{}", headers={}, allow_private=True).ok
        assert len(connects) == 2
    assert len(receiver.received) == 4


def test_a_connection_the_receiver_closed_while_kept_is_replaced(connects):
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:  # answers one request per connection, then closes it
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    first = egress.post(url, body=b"{}", headers={}, allow_private=True)
    second = egress.post(url, body=b"{}", headers={}, allow_private=True)
    server.close()
    assert first.ok and second.ok, second.error
    assert len(connects) == 2
