"""Playwright in Debian's chromium against pytest-django's live server.

Background work runs inline (Celery eager) so the emails land in the development outbox
at once; the outbox pages need DEBUG. Every test saves screenshots under test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
# still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    from tests.conftest import require_service

    require_service(shutil.which(CHROMIUM) is not None, "Debian's chromium (/usr/bin/chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def app_settings(settings: Any) -> Iterator[Any]:
    """Inline Celery, the development outbox for email, DEBUG for /dev/outbox/."""
    from config.celery import app

    settings.DEBUG = True
    settings.EMAIL_BACKEND = "notifications.outbox.OutboxEmailBackend"
    # Every walk signs in from 127.0.0.1; the login rate limit (counted in Redis for five
    # minutes, tested in tests/reliability/test_b2_rate_limits.py) is not what they test.
    settings.LOGIN_RATE_LIMIT = 1000
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield settings
    finally:
        app.conf.task_always_eager = previous


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


PAGE_WIDTHS = (1366, 390)


def shots(page: Any, name: str) -> None:
    """The page at each width we look at (desktop and phone), as `<name>-<width>.png`."""
    for width in PAGE_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"{name}-{width}")


def sign_in(page: Any, base: str, email: str, lang: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#main-nav")


def open_last_email_link(page: Any, base: str, to: str, path_part: str) -> str:
    """Open the newest email to `to` from /dev/outbox/ and return its link containing
    `path_part`, as a person would read it off the text part."""
    page.goto(f"{base}/dev/outbox/")
    page.locator("tr", has_text=to).first.locator("a").first.click()
    link = page.locator(f"pre a[href*='{path_part}']").first
    href = link.get_attribute("href")
    assert href, f"no {path_part} link in the email"
    return href
