"""B1 (CSP follow-up): every kind of HTML page renders without inline code the
Content-Security-Policy would block — no `<style>` element, no `<script>` without `src`,
no `style="…"` or `on…="…"` attribute — and its stylesheets are served from /static/."""

from __future__ import annotations

import re
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

STYLE_ELEMENT = re.compile(r"<style\b", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=[^>]*>", re.I)
EVENT_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=[^>]*>", re.I)
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


def _inline_code(html: str) -> list[str]:
    found = [m.group(0) for m in STYLE_ELEMENT.finditer(html)]
    found += [m.group(0) for m in SCRIPT_TAG.finditer(html) if "src=" not in m.group(1)]
    found += [m.group(0)[:120] for m in STYLE_ATTRIBUTE.finditer(html)]
    found += [m.group(0)[:120] for m in EVENT_ATTRIBUTE.finditer(html)]
    return found


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
    assert _inline_code("<style>p{}</style>") == ["<style"]
    assert _inline_code('<script>alert(1)</script><script src="/static/a.js"></script>') == [
        "<script>"
    ]
    assert _inline_code('<p style="color:red">') == ['<p style="color:red">']
    assert _inline_code('<a href="#" onclick="x()">') == ['<a href="#" onclick="x()">']


def test_dashboard_layout_switches_off_htmx_indicator_styles(settings: Any) -> None:
    client, _ = _member_client(settings)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in html
