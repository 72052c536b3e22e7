"""L2: mail scanners open emailed links — ten GET and ten HEAD requests on a reactivation
link and on a sign-in link:

- 0 database writes (every statement on every connection is recorded: no INSERT,
  UPDATE or DELETE), and the link still works afterwards;
- `Referrer-Policy: no-referrer` and `Cache-Control: no-store` on every answer;
- the token is in no log line: all logging at DEBUG (django.request, django.server,
  django.db.backends, …) while Django's own server (`django.server` logs every request
  line) serves the links, and the access and error log of a real gunicorn started with
  the repository's gunicorn.conf.py.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from dashboard.models import SubscriberSignInToken
from dashboard.subscriber.services import sign_in_link_send
from reactivation import services
from reactivation.models import ReactivationRequest
from tests.factories import CreatorFactory, SubscriberFactory, labelled_actor
from tests.reactivation.factories import cancelled_subscription
from tests.reliability.procs import REPO, child_env, http, start_gunicorn, start_redis

REACTIVATION_LINK = re.compile(r"/reactivate/([A-Za-z0-9_-]{43})/")
SIGN_IN_LINK = re.compile(r"/s/[^/\s]+/sign-in/([A-Za-z0-9_-]{43})/")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.IGNORECASE)
PREFETCHES = 10


@pytest.fixture(autouse=True)
def celery_eager() -> Iterator[None]:
    """Run Celery tasks in-process, so the test sees the emails."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def _links() -> list[tuple[str, str]]:
    """A reactivation link and a sign-in link, as emailed: [(path, token)]."""
    mail.outbox.clear()
    subscription = cancelled_subscription()
    services.reactivation_request_create(
        subscription=subscription, mode="reactivate_and_charge", actor=labelled_actor("test")
    )
    creator = CreatorFactory()
    subscriber = SubscriberFactory(creator=creator)
    assert sign_in_link_send(creator=creator, email=subscriber.email)
    found: list[tuple[str, str]] = []
    for pattern in (REACTIVATION_LINK, SIGN_IN_LINK):
        match = next(filter(None, (pattern.search(m.body) for m in mail.outbox)), None)
        assert match, [m.body for m in mail.outbox]
        found.append((match.group(0), match.group(1)))
    return found


def _state() -> tuple[Any, ...]:
    return (
        list(ReactivationRequest.objects.order_by("pk").values()),
        list(SubscriberSignInToken.objects.order_by("pk").values()),
    )


class _AllLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[_AllLogs]:
    handler = _AllLogs()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ["", "django", "django.request", "django.server", "django.db.backends",
             "django.security", "django.template"]  # fmt: skip
    previous = {name: logging.getLogger(name).level for name in names}
    root = logging.getLogger()
    root.addHandler(handler)
    server_logger = logging.getLogger("django.server")  # does not propagate to root
    server_logger.addHandler(handler)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        server_logger.removeHandler(handler)
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement run on any connection opened from now on (the server's
    threads open their own)."""
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(record)

    connection_created.connect(on_connect)
    try:
        yield seen
    finally:
        connection_created.disconnect(on_connect)


@pytest.fixture
def django_server(transactional_db: None) -> Iterator[str]:
    """Django's own WSGI server (what runserver runs), whose request handler logs every
    request line to `django.server`."""
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _prefetch(base: str, path: str) -> list[tuple[str, int, dict[str, str]]]:
    answers = []
    for method in ("GET", "HEAD") * PREFETCHES:
        status, headers, _ = http(method, base + path, headers={"User-Agent": "MailScanner/1"})
        answers.append((method, status, headers))
    return answers


def _assert_private(answers: list[tuple[str, int, dict[str, str]]]) -> None:
    assert len(answers) == 2 * PREFETCHES
    for method, status, headers in answers:
        assert status == 200, (method, status)
        assert headers.get("Referrer-Policy") == "no-referrer", (method, headers)
        assert headers.get("Cache-Control") == "no-store", (method, headers)


def test_scanners_prefetching_links_write_nothing_and_log_no_token(
    django_server, all_logs, statements, settings
):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    links = _links()
    before = _state()
    connection.close()  # the test's own statements from here on are recorded too
    statements.clear()
    all_logs.lines.clear()

    for path, _ in links:
        _assert_private(_prefetch(django_server, path))

    assert statements, "the recorder saw no statement: it is not wired"
    assert [s for s in statements if WRITE.match(s)] == []
    assert _state() == before
    request_lines = [line for line in all_logs.lines if line.startswith("django.server")]
    assert len(request_lines) == 2 * 2 * PREFETCHES, all_logs.lines[-5:]
    for path, token in links:
        assert not [line for line in all_logs.lines if token in line]
        masked = path.replace(token, "[token]")
        assert sum(masked in line for line in request_lines) == 2 * PREFETCHES
    # The links still work after the scanners: nothing was spent.
    assert ReactivationRequest.objects.get().status == "pending"
    assert SubscriberSignInToken.objects.get().used_at is None


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_gunicorn_access_and_error_logs_mask_the_tokens(live_db_url, procs):
    links = _links()
    before = _state()
    assert (REPO / "gunicorn.conf.py").is_file()
    env = child_env(database_url=live_db_url, redis_url=start_redis(procs), LOG_LEVEL="DEBUG")
    base = start_gunicorn(procs, env, workers=2)  # gunicorn reads ./gunicorn.conf.py
    for path, _ in links:
        _assert_private(_prefetch(base, path))
    # Refused answers under the link paths (403 from the CSRF check, 404/410 for a
    # tampered token): Django logs their paths, gunicorn logs every request.
    for path, token in links:
        assert http("PUT", base + path)[0] in (403, 405)
        assert http("GET", base + path.replace(token, token[::-1]))[0] in (404, 410)
    assert _state() == before

    web = next(p for p in procs.procs if p.name == "web")
    log = web.log_tail(10_000_000)
    for path, token in links:
        assert token not in log and token[::-1] not in log
        masked = path.replace(token, "[token]")
        # The access log line of every request is there, masked.
        assert log.count(f'"GET {masked} HTTP/1.1" 200') == PREFETCHES, log[-3000:]
        assert log.count(f'"HEAD {masked} HTTP/1.1" 200') == PREFETCHES
    assert ReactivationRequest.objects.get().status == "pending"
    assert SubscriberSignInToken.objects.filter(expires_at__gt=timezone.now()).count() == 1
    assert timedelta(hours=1) >= SubscriberSignInToken.objects.get().expires_at - timezone.now()
