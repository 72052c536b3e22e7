"""S1: webhook and provider URLs that point inside our network open 0 sockets to it, and
no redirect is followed.

Both ways out go through the one egress client (`core/egress.py`) and are tested the
same way: the webhook sender (`egress.post`) and a
provider call whose host a creator typed (ActiveCampaign's `api_url`, through
`ProviderClient`). Every socket connect in the process is recorded at the boundary
(`socket.socket.connect`) and refused, so nothing leaves the machine; a listener on
127.0.0.1 proves no connection reached it either.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core import egress
from notifications.providers.activecampaign.adapter import ActiveCampaignProvider
from notifications.providers.base import CredentialsInvalid, ProviderError
from notifications.providers.http import ProviderClient

pytestmark = pytest.mark.django_db

PUBLIC_IP = "93.184.216.34"  # example.com: a public address, never actually reached here


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts and answers
    each with `answer` (bytes)."""

    def __init__(self, answer: bytes = b"") -> None:
        self.answer = answer
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connect attempted in this process: recorded, then refused, so that
    a guard that lets one through fails the test without reaching anything."""
    seen: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        seen.append(address)
        raise ConnectionRefusedError(111, "refused by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return seen


def _answers(ips: list[str], port: Any) -> list[Any]:
    port = int(port or 0)
    out: list[Any] = []
    for ip in ips:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        addr: tuple[Any, ...] = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
        out.append((family, socket.SOCK_STREAM, 6, "", addr))
    return out


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """A resolver under the test's control: `dns[name]` is the list of successive answers
    (each a list of addresses); the last one repeats. Unknown names do not resolve."""
    table: dict[str, list[list[str]]] = {}
    calls: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        calls.append(name)
        if egress.ip_literal(name) is not None:
            return _answers([str(egress.ip_literal(name))], port)
        answers = table.get(name)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        current = answers.pop(0) if len(answers) > 1 else answers[0]
        return _answers(current, port)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    table["_calls"] = calls  # type: ignore[assignment]
    return table


# Hosts that name a private, loopback, link-local, CGNAT, metadata, multicast, reserved
# or IPv4-mapped address, literally or in the decimal/octal/hex/short forms.
DISGUISED_HOSTS = [
    "127.0.0.1",
    "2130706433",
    "017700000001",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "127.1",
    "0.0.0.0",  # noqa: S104 - a URL host under test, not a bind address
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "[fe80::1]",
    "[fc00::1]",
    "[fd00:ec2::254]",
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.1",
    "240.0.0.1",
    "localhost",
    "api.localhost",
]

# Names whose DNS answers are (or include) inside addresses.
RESOLVED = {
    "loopback.example.test": [["127.0.0.1"]],
    "private.example.test": [["10.0.0.7"]],
    "metadata.example.test": [["169.254.169.254"]],
    "cgnat.example.test": [["100.64.12.1"]],
    "mapped.example.test": [["::ffff:10.0.0.1"]],
    "ula6.example.test": [["fd12:3456::1"]],
    "mixed.example.test": [[PUBLIC_IP, "127.0.0.1"]],
}


def _webhook(url: str) -> str:
    result = egress.post(url, body=b"{}", headers={}, allow_private=False)
    assert not result.ok
    return result.error


def _provider(url: str) -> str:
    """A provider call to a creator-typed host, as ActiveCampaign makes it."""
    client = ProviderClient(
        provider="activecampaign", label="ActiveCampaign", base_url=url, headers={}
    )
    with pytest.raises(ProviderError) as info:
        client.request("GET", "/api/3/users/me")
    return info.value.message


CALLERS: dict[str, Callable[[str], str]] = {"webhook": _webhook, "provider": _provider}


@pytest.fixture(autouse=True)
def _no_operator_override(settings: Any) -> None:
    settings.PROVIDER_BASE_URLS = {}
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("host", DISGUISED_HOSTS)
def test_inside_addresses_in_any_form_open_no_socket(caller, host, connects, dns, listener):
    for scheme, port in (("https", ""), ("http", f":{listener.port}")):
        CALLERS[caller](f"{scheme}://{host}{port}/")
    assert connects == []
    assert listener.accepted == 0


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", RESOLVED)
def test_names_that_resolve_inside_open_no_socket(caller, name, connects, dns, listener):
    dns[name] = [list(a) for a in RESOLVED[name]]
    error = CALLERS[caller](f"http://{name}:{listener.port}/")
    assert "private or reserved address" in error or "Could not reach" in error
    assert connects == []
    assert listener.accepted == 0


@pytest.mark.parametrize("caller", CALLERS)
def test_dns_answer_changing_between_check_and_connect_is_not_followed(caller, connects, dns):
    """Rebinding: the first answer is public, every later one loopback. The name is
    resolved once and the socket goes to the address that was checked."""
    dns["rebind.example.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
    CALLERS[caller]("http://rebind.example.test:8080/")
    calls = dns["_calls"]  # type: ignore[index]
    assert calls.count("rebind.example.test") == 1
    assert connects == [(PUBLIC_IP, 8080)]


@pytest.mark.parametrize("caller", CALLERS)
def test_a_redirect_is_not_followed(caller, settings):
    """The target answers 302 to an inside address (allowed here only so that the local
    server can play the target): the second listener sees 0 connections."""
    inside = Listener()
    location = f"http://127.0.0.1:{inside.port}/latest/meta-data/"
    target = Listener(
        f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
    )
    try:
        url = f"http://127.0.0.1:{target.port}"
        if caller == "webhook":
            result = egress.post(url + "/", body=b"{}", headers={}, allow_private=True)
            assert result.status_code == 302 and "Redirects are not followed" in result.error
        else:
            settings.PROVIDER_BASE_URLS = {"activecampaign": url}
            message = _provider("https://youraccount.api-us1.com")
            assert "unexpected HTTP 302" in message
        assert target.accepted == 1
        assert inside.accepted == 0
    finally:
        target.close()
        inside.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "[::ffff:10.0.0.1]", "localhost"])
def test_activecampaign_refuses_an_inside_api_url_when_saved(host, connects):
    with pytest.raises(CredentialsInvalid):
        ActiveCampaignProvider.clean_credentials({"api_url": f"https://{host}", "api_key": "k"})
    assert connects == []


def test_the_guard_lets_a_public_host_through(connects, dns):
    """The guard is not a wall: a public name is connected to (here refused by the
    test's boundary), so the tests above fail if the guard stops telling them apart."""
    dns["youraccount.api-us1.com"] = [[PUBLIC_IP]]
    message = _provider("https://youraccount.api-us1.com")
    assert "Could not reach ActiveCampaign" in message
    assert connects == [(PUBLIC_IP, 443)]
