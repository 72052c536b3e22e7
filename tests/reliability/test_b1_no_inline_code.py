"""B1 (CSP follow-up): every kind of HTML page renders without inline code the
Content-Security-Policy would block — no `<style>` element, no `<script>` without `src`,
no `style="…"` or `on…="…"` attribute — and its stylesheets are served from /static/."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from notifications.models import OutboxEmail
from tests.factories import CreatorFactory, MembershipFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


class _InlineCode(HTMLParser):
    """Collects what a strict CSP blocks; attribute values (e.g. an iframe's escaped
    srcdoc) are values, not markup of this page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        self.found += [f"<{tag} {n}=…>" for n in names if n == "style" or n.startswith("on")]


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def _member_client(settings: Any) -> tuple[Client, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    creator = CreatorFactory()
    subscription = SubscriptionFactory(plan__product__creator=creator)
    user = MembershipFactory(creator=creator, role=Role.OWNER).user
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client, subscription


def _pages(settings: Any) -> dict[str, tuple[Client, str]]:
    member, subscription = _member_client(settings)
    public = Client()
    settings.DEBUG = True  # the development outbox answers only under DEBUG
    outbox = OutboxEmail.objects.create(
        from_email="a@example.com",
        to=["b@example.com"],
        subject="Hello",
        body_text="Hi",
        body_html="<p style='color:red'>Hi</p>",
    )
    return {
        "dashboard overview": (member, reverse("dashboard:overview")),
        "dashboard subscriptions": (member, reverse("dashboard:subscriptions")),
        "dashboard subscription": (
            member,
            reverse("dashboard:subscription_detail", args=[subscription.uuid]),
        ),
        "dashboard settings": (member, reverse("dashboard:settings")),
        "login": (public, reverse("login")),
        "password reset": (public, reverse("password_reset")),
        "subscriber sign-in": (
            public,
            reverse("subscriber:sign_in_request", args=[subscription.creator.slug]),
        ),
        "reactivation link": (public, reverse("reactivation_page", args=["unknown-token"])),
        "outbox list": (public, reverse("dev-outbox")),
        "outbox email": (public, reverse("dev-outbox-email", args=[outbox.pk])),
    }


def test_no_page_type_has_inline_code_and_its_stylesheets_exist(settings: Any) -> None:
    mail.outbox = []
    for label, (client, url) in _pages(settings).items():
        response = client.get(url)
        assert response.status_code in (200, 404), (label, response.status_code)
        assert response["Content-Type"].startswith("text/html"), label
        html = response.content.decode()
        assert "<html" in html, (label, html[:200])
        assert _inline_code(html) == [], (label, _inline_code(html))
        sheets = STYLESHEET.findall(html)
        assert sheets, f"{label}: no stylesheet"
        for href in sheets:
            assert href.startswith("/static/"), (label, href)
            assert finders.find(href.removeprefix("/static/")), (label, href)


def test_the_check_catches_inline_code() -> None:
    """The detector is not vacuous."""
    assert _inline_code("<style>p{}</style>") == ["<style>"]
    assert _inline_code('<script>alert(1)</script><script src="/static/a.js"></script>') == [
        "<script> without src"
    ]
    assert _inline_code('<p style="color:red">') == ["<p style=…>"]
    assert _inline_code('<a href="#" onclick="x()">') == ["<a onclick=…>"]
    assert _inline_code('<iframe srcdoc="&lt;p style=&quot;x&quot;&gt;"></iframe>') == []


def test_dashboard_layout_switches_off_htmx_indicator_styles(settings: Any) -> None:
    client, _ = _member_client(settings)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in html
