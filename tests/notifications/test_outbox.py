from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives

from notifications.models import OutboxEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured(settings):  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "notifications.outbox.OutboxEmailBackend"
    message = EmailMultiAlternatives(
        subject="Reactivate your subscription",
        body="Open https://example.com/r/abc to reactivate.",
        from_email="no-reply@example.com",
        to=["ana@example.com"],
    )
    message.attach_alternative(
        '<p>Click <a href="https://example.com/r/abc">reactivate</a> "now"</p>', "text/html"
    )
    message.send()
    return OutboxEmail.objects.get()


def test_outbox_lists_and_shows_emails_in_debug(client, settings, captured):
    settings.DEBUG = True
    listing = client.get("/dev/outbox/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Reactivate your subscription" in html and "ana@example.com" in html
    assert f"/dev/outbox/{captured.pk}/" in html

    detail = client.get(f"/dev/outbox/{captured.pk}/")
    assert detail.status_code == 200
    page = detail.content.decode()
    # The HTML part is shown in a sandboxed frame (escaped into srcdoc); links open a tab.
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;Click' in page
    assert "&quot;now&quot;" in page
    # The text part, with its link clickable.
    assert '<a href="https://example.com/r/abc"' in page


def test_outbox_is_404_without_debug(client, settings, captured):
    settings.DEBUG = False
    assert client.get("/dev/outbox/").status_code == 404
    assert client.get(f"/dev/outbox/{captured.pk}/").status_code == 404


def test_unknown_email_is_404(client, settings, db):
    settings.DEBUG = True
    assert client.get("/dev/outbox/999999/").status_code == 404
