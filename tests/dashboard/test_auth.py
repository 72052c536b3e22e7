from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse


def sent_to(address: str):
    """The one message Django's test outbox holds for `address`."""
    from django.core import mail

    found = [m for m in mail.outbox if address in m.to]
    assert len(found) == 1, [m.to for m in mail.outbox]
    return found[0]


pytestmark = pytest.mark.django_db


def _fresh_client() -> Client:
    """A client from its own address: the per-IP limits' counters outlive a test run."""
    import uuid

    n = uuid.uuid4().int
    return Client(REMOTE_ADDR=f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}")


def test_login_with_email_and_password_then_logout_by_post(owner):
    client = _fresh_client()
    page = client.get(reverse("login"))
    assert 'for="id_username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": owner.email, "password": "pass-word-123"})
    assert response.status_code == 302
    assert client.get(reverse("dashboard:overview")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_wrong_password_shows_an_error(owner):
    response = _fresh_client().post(reverse("login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert 'class="message error"' in response.content.decode()


def test_axes_locks_out_after_repeated_failures(owner, settings):
    client = _fresh_client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": owner.email, "password": "pass-word-123"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_password_reset_sends_text_and_html(owner):
    client = _fresh_client()
    response = client.post(reverse("password_reset"), {"email": owner.email}, follow=True)
    assert "Check your email" in response.content.decode()
    email = sent_to(owner.email)
    assert email.subject == "Choose a new password"
    assert re.search(r"/password-reset/[^/]+/[^/]+/", email.body)
    assert "<a href=" in email.alternatives[0][0]


def test_language_switch_to_portuguese(owner, login):
    client = login(owner)
    client.post(reverse("set_language"), {"language": "pt-br", "next": "/"})
    html = client.get(reverse("dashboard:subscriptions")).content.decode()
    assert '<html lang="pt-br">' in html
    assert "Assinaturas" in html


def test_an_invited_user_who_never_set_a_password_can_use_forgot_password(creator):
    from tests.factories import MembershipFactory, UserFactory

    client = _fresh_client()
    invited = MembershipFactory(creator=creator, user=UserFactory(password=None)).user
    response = client.post(reverse("password_reset"), {"email": invited.email}, follow=True)
    assert response.status_code == 200
    email = sent_to(invited.email)
    path = re.search(r"(/password-reset/[^/\s]+/[^/\s]+/)", email.body).group(1)
    page = client.get(path, follow=True)
    assert 'id="set-password-form"' in page.content.decode()


def test_password_reset_is_rate_limited_per_client(settings):
    import uuid

    settings.PASSWORD_RESET_RATE_LIMIT = 2
    client = _fresh_client()
    url = reverse("password_reset")
    answers = [
        client.post(url, {"email": f"{uuid.uuid4().hex}@example.com"}).status_code for _ in range(3)
    ]
    assert answers == [302, 302, 429]
    assert client.get(url).status_code == 200  # only sending counts
