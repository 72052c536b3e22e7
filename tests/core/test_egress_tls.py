"""HTTPS to a pinned address: the TLS handshake carries the endpoint's host name (SNI) and
the certificate is checked against that name, while the socket goes to the vetted IP."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core import egress


def _certificate(tmp_path, name: str):  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_pem.decode(), cert_file, key_file


def _tls_server(cert_file, key_file, seen: dict[str, object]):  # type: ignore[no-untyped-def]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    def remember_sni(sock, server_name, ctx):  # type: ignore[no-untyped-def]
        seen["sni"] = server_name

    context.sni_callback = remember_sni
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(2)

    def serve() -> None:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                seen["request"] = conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (OSError, ssl.SSLError) as exc:
            seen["error"] = exc

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.fixture
def resolves_to_loopback(monkeypatch):  # type: ignore[no-untyped-def]
    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(egress.socket, "getaddrinfo", resolver)


def test_https_sends_sni_and_host_of_the_name_to_the_vetted_address(tmp_path, resolves_to_loopback):
    pem, cert_file, key_file = _certificate(tmp_path, "hooks.example.com")
    seen: dict[str, object] = {}
    listener = _tls_server(cert_file, key_file, seen)
    port = listener.getsockname()[1]
    result = egress.post(
        f"https://hooks.example.com:{port}/in",
        body=b"{}",
        headers={},
        allow_private=True,
        ssl_context=ssl.create_default_context(cadata=pem),
    )
    listener.close()
    assert result.ok, result.error
    assert seen["sni"] == "hooks.example.com"
    assert f"Host: hooks.example.com:{port}".encode() in seen["request"]  # type: ignore[operator]


def test_a_certificate_for_another_name_fails(tmp_path, resolves_to_loopback):
    pem, cert_file, key_file = _certificate(tmp_path, "other.example.com")
    seen: dict[str, object] = {}
    listener = _tls_server(cert_file, key_file, seen)
    result = egress.post(
        f"https://hooks.example.com:{listener.getsockname()[1]}/in",
        body=b"{}",
        headers={},
        allow_private=True,
        ssl_context=ssl.create_default_context(cadata=pem),
    )
    listener.close()
    assert not result.ok
    assert result.error.startswith("TLS failed")
