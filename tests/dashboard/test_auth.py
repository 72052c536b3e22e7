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


def test_login_with_email_and_password_then_logout_by_post(owner):
    client = Client()
    page = client.get(reverse("login"))
    assert 'for="id_username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": owner.email, "password": "pass-word-123"})
    assert response.status_code == 302
    assert client.get(reverse("dashboard:overview")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_wrong_password_shows_an_error(owner):
    response = Client().post(reverse("login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert 'class="message error"' in response.content.decode()


def test_axes_locks_out_after_repeated_failures(owner, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": owner.email, "password": "pass-word-123"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_password_reset_sends_text_and_html(owner, client):
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
