"""The public manage page (SPEC §7.2), end to end through the emailed link."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import SubscriberSignInToken
from subscriptions.models import Status
from tests.factories import SubscriptionFactory


def sent_to(address: str):
    """The one message Django's test outbox holds for `address`."""
    from django.core import mail

    found = [m for m in mail.outbox if address in m.to]
    assert len(found) == 1, [m.to for m in mail.outbox]
    return found[0]


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def subscription(creator):
    return SubscriptionFactory(
        creator=creator, plan__product__creator=creator, subscriber__locale="pt-BR"
    )


def public_client() -> Client:
    # A fresh address per test: the throttle counters live in the shared cache.
    return Client(REMOTE_ADDR=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7")


def ask_link(client, creator, email, capture):
    with capture(execute=True):
        return client.post(
            reverse("subscriber:sign_in_request", args=[creator.slug]), {"email": email}
        )


def link_path(email) -> str:
    url = re.search(r"http://\S+/s/\S+/sign-in/\S+/", email.body).group(0)
    return url.split("8000", 1)[1]


def test_known_and_unknown_emails_get_the_same_answer(
    creator, subscription, django_capture_on_commit_callbacks
):
    client = public_client()
    known = ask_link(
        client, creator, subscription.subscriber.email, django_capture_on_commit_callbacks
    )
    unknown = ask_link(client, creator, "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert "Check your email" in known.content.decode()
    assert known["Referrer-Policy"] == "no-referrer"
    assert known["Cache-Control"] == "no-store"
    from django.core import mail

    assert [m.to for m in mail.outbox] == [[subscription.subscriber.email]]


def test_email_is_in_the_subscribers_language_with_text_and_html(
    creator, subscription, django_capture_on_commit_callbacks
):
    ask_link(
        public_client(), creator, subscription.subscriber.email, django_capture_on_commit_callbacks
    )
    email = sent_to(subscription.subscriber.email)
    assert "Gerenciar minhas assinaturas" in email.alternatives[0][0]
    assert "assinaturas" in email.subject
    assert "/sign-in/" in email.body


def test_end_to_end_sign_in_and_cancel(creator, subscription, django_capture_on_commit_callbacks):
    client = public_client()
    ask_link(
        client, creator, subscription.subscriber.email.upper(), django_capture_on_commit_callbacks
    )
    path = link_path(sent_to(subscription.subscriber.email))
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    stored = SubscriberSignInToken.objects.get()
    assert token not in stored.token_hash and len(stored.token_hash) == 64

    # Opening the link (a mail scanner, say) changes nothing.
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200 and 'id="sign-in-continue"' in page.content.decode()
        assert page["Referrer-Policy"] == "no-referrer"
    stored.refresh_from_db()
    assert stored.used_at is None
    assert client.get(reverse("subscriber:manage", args=[creator.slug])).status_code == 302

    response = client.post(path)
    assert response.status_code == 302
    manage = client.get(response["Location"])
    html = manage.content.decode()
    assert manage["Cache-Control"] == "no-store"
    assert subscription.plan.name in html
    assert "https://" not in html and "<script" not in html
    # The cancel form says until when access lasts, not "the paid-through date".
    from django.utils.formats import date_format

    until = date_format(subscription.paid_through, "DATE_FORMAT")
    assert f"You keep access until {until}." in html

    # Spent: the same link no longer works.
    assert Client().post(path).status_code == 410

    cancel_url = reverse("subscriber:cancel", args=[creator.slug, subscription.uuid])
    assert client.post(cancel_url, {"reason": ""}).status_code == 400
    response = client.post(
        cancel_url, {"reason": "too_expensive", "details": "budget"}, follow=True
    )
    assert "Your subscription is cancelled." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELLED_BY_CUSTOMER
    assert subscription.cancellation_source == "customer"
    assert subscription.cancellation_reason == "It is too expensive: budget"


def test_cannot_cancel_someone_elses_subscription(
    creator, subscription, django_capture_on_commit_callbacks
):
    other = SubscriptionFactory(creator=creator, plan=subscription.plan)
    client = public_client()
    ask_link(client, creator, subscription.subscriber.email, django_capture_on_commit_callbacks)
    client.post(link_path(sent_to(subscription.subscriber.email)))
    response = client.post(
        reverse("subscriber:cancel", args=[creator.slug, other.uuid]), {"reason": "other"}
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == Status.ACTIVE


def test_session_is_per_creator(creator, subscription, django_capture_on_commit_callbacks):
    from tests.factories import CreatorFactory

    other_creator = CreatorFactory()
    client = public_client()
    ask_link(client, creator, subscription.subscriber.email, django_capture_on_commit_callbacks)
    client.post(link_path(sent_to(subscription.subscriber.email)))
    response = client.get(reverse("subscriber:manage", args=[other_creator.slug]))
    assert response.status_code == 302


def test_link_expires_after_one_hour(creator, subscription, django_capture_on_commit_callbacks):
    client = public_client()
    ask_link(client, creator, subscription.subscriber.email, django_capture_on_commit_callbacks)
    path = link_path(sent_to(subscription.subscriber.email))
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert client.get(path).status_code == 410
        assert client.post(path).status_code == 410


def test_unknown_creator_is_404():
    assert (
        Client().get(reverse("subscriber:sign_in_request", args=["no-such-creator"])).status_code
        == 404
    )


def test_throttled_per_email(creator, subscription, settings, django_capture_on_commit_callbacks):
    settings.SUBSCRIBER_SIGN_IN_PER_EMAIL = 2
    email = f"{uuid.uuid4().hex}@example.com"
    codes = [
        ask_link(public_client(), creator, email, django_capture_on_commit_callbacks).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_throttled_per_ip(creator, settings, django_capture_on_commit_callbacks):
    settings.SUBSCRIBER_SIGN_IN_PER_IP = 3
    client = public_client()
    responses = [
        ask_link(
            client, creator, f"{uuid.uuid4().hex}@example.com", django_capture_on_commit_callbacks
        )
        for _ in range(4)
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert "Too many requests" in responses[-1].content.decode()
