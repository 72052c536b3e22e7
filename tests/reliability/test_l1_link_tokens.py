"""L1: the two emailed links — reactivation (`/reactivate/<token>/`, 72 h) and the
subscriber sign-in (`/s/<slug>/sign-in/<token>/`, 1 h).

- tokens carry at least 128 random bits (measured on the token in the email);
- a link works one second before its lifetime ends and not at the end;
- it stops working once used, and when a newer link supersedes it;
- for creators in any zone, DST changes included, a reactivation link lasts exactly 72 h
  of real time and the email shows that instant in the creator's zone (Hypothesis).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import dateformat
from django.utils.formats import get_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.subscriber.services import sign_in_link_send
from reactivation import services
from reactivation.models import ReactivationRequest
from tests.factories import CreatorFactory, SubscriberFactory, labelled_actor
from tests.reactivation.factories import cancelled_subscription, seed_subscription

pytestmark = pytest.mark.django_db

REACTIVATION_LINK = re.compile(r"/reactivate/([A-Za-z0-9_-]+)/")
SIGN_IN_LINK = re.compile(r"(/s/[^/\s]+/sign-in/([A-Za-z0-9_-]+)/)")
T0 = datetime(2026, 4, 18, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def celery_eager():  # type: ignore[no-untyped-def]
    """Run Celery tasks in-process, so the test sees the email a request sends."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def _bits(token: str) -> int:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return len(raw) * 8


@pytest.fixture
def reactivation_link(mailoutbox, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    def send(subscription: Any = None, when: datetime = T0) -> tuple[ReactivationRequest, str]:
        subscription = subscription or seed_subscription()
        with (
            time_machine.travel(when, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            request = services.reactivation_request_create(
                subscription=subscription, mode="reactivate", actor=labelled_actor("test")
            )
        found = REACTIVATION_LINK.search(mail.outbox[-1].body)
        assert found, mail.outbox[-1].body
        return request, found.group(1)

    return send


@pytest.fixture
def sign_in_link(mailoutbox):  # type: ignore[no-untyped-def]
    creator = CreatorFactory()
    subscriber = SubscriberFactory(creator=creator)

    def send(when: datetime = T0) -> tuple[str, str]:
        with time_machine.travel(when, tick=False):
            assert sign_in_link_send(creator=creator, email=subscriber.email)
        found = SIGN_IN_LINK.search(mail.outbox[-1].body)
        assert found, mail.outbox[-1].body
        return found.group(1), found.group(2)

    return send


def _get(path: str, when: datetime) -> int:
    with time_machine.travel(when, tick=False):
        return Client().get(path).status_code


def _post(path: str, when: datetime, data: dict[str, str] | None = None) -> int:
    with time_machine.travel(when, tick=False):
        return Client().post(path, data or {}).status_code


def test_tokens_carry_at_least_128_random_bits(reactivation_link, sign_in_link):
    tokens: list[tuple[str, str]] = []
    for _ in range(20):
        tokens.append(("reactivation", reactivation_link()[1]))
        tokens.append(("sign-in", sign_in_link()[1]))
    for kind, token in tokens:
        assert _bits(token) >= 128, (kind, token)
    assert len({t for _, t in tokens}) == len(tokens)  # no two alike


def test_reactivation_link_valid_at_72h_minus_1s_and_gone_at_72h(reactivation_link):
    request, token = reactivation_link()
    path = f"/reactivate/{token}/"
    end = request.created_at + timedelta(hours=72)
    assert request.expires_at == end
    assert _get(path, end - timedelta(seconds=1)) == 200
    assert _get(path, end) == 410
    assert _post(path, end, {"decision": "accept"}) == 410


def test_reactivation_link_is_gone_after_use_and_after_supersede(reactivation_link):
    _, token = reactivation_link()
    path = f"/reactivate/{token}/"
    assert _post(path, T0 + timedelta(hours=1), {"decision": "reject"}) == 200
    assert _get(path, T0 + timedelta(hours=1, seconds=1)) == 410

    older, old_token = reactivation_link(when=T0 + timedelta(hours=2))
    _, new_token = reactivation_link(older.subscription, when=T0 + timedelta(hours=3))
    assert _get(f"/reactivate/{old_token}/", T0 + timedelta(hours=4)) == 410
    assert (
        _post(f"/reactivate/{old_token}/", T0 + timedelta(hours=4), {"decision": "reject"}) == 410
    )
    assert _get(f"/reactivate/{new_token}/", T0 + timedelta(hours=4)) == 200


def test_sign_in_link_valid_at_1h_minus_1s_and_gone_at_1h(sign_in_link):
    path, _ = sign_in_link()
    end = T0 + timedelta(hours=1)
    assert _get(path, end - timedelta(seconds=1)) == 200
    assert _get(path, end) == 410
    assert _post(path, end) == 410
    assert _post(path, end - timedelta(seconds=1)) == 302  # still usable just before


def test_sign_in_link_is_gone_after_use_and_after_supersede(sign_in_link):
    path, _ = sign_in_link()
    assert _post(path, T0 + timedelta(minutes=1)) == 302
    assert _get(path, T0 + timedelta(minutes=2)) == 410
    assert _post(path, T0 + timedelta(minutes=2)) == 410

    old_path, _ = sign_in_link(when=T0 + timedelta(minutes=5))
    new_path, _ = sign_in_link(when=T0 + timedelta(minutes=6))
    assert _get(old_path, T0 + timedelta(minutes=7)) == 410
    assert _post(old_path, T0 + timedelta(minutes=7)) == 410
    assert _post(new_path, T0 + timedelta(minutes=7)) == 302


# DST changes: São Paulo (historical DST: on 2018-11-04, off 2019-02-17), Berlin and New
# York (both directions), plus zones without DST and one with a 30-minute shift.
TRANSITIONS = {
    "America/Sao_Paulo": [
        datetime(2018, 11, 4, 3, tzinfo=UTC),
        datetime(2019, 2, 17, 2, tzinfo=UTC),
    ],
    "Europe/Berlin": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Australia/Lord_Howe": [datetime(2026, 4, 4, 15, tzinfo=UTC)],
    "Asia/Tokyo": [datetime(2026, 6, 1, tzinfo=UTC)],
}


@st.composite
def zone_and_moment(draw: Callable[..., Any]) -> tuple[str, datetime]:
    zone = draw(st.sampled_from(sorted(TRANSITIONS)))
    transition = draw(st.sampled_from(TRANSITIONS[zone]))
    # Created up to four days before (so the 72 h span the change) or one day after.
    offset = draw(st.integers(min_value=-4 * 86400, max_value=86400))
    return zone, transition + timedelta(seconds=offset)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=zone_and_moment())
def test_expiry_is_72_real_hours_in_every_zone_and_shown_in_the_zone(
    case, mailoutbox, django_capture_on_commit_callbacks
):
    zone, created = case
    creator = CreatorFactory(time_zone=zone, locale="en")
    with time_machine.travel(created - timedelta(days=10), tick=False):
        subscription = cancelled_subscription(creator)
    mail.outbox.clear()
    with (
        time_machine.travel(created, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        request = services.reactivation_request_create(
            subscription=subscription, mode="reactivate", actor=labelled_actor("test")
        )
    end = created + timedelta(hours=72)
    # Exactly 72 h of real time, whatever the wall clocks did meanwhile.
    assert request.expires_at == end
    assert (request.expires_at - request.created_at).total_seconds() == 72 * 3600
    token = REACTIVATION_LINK.search(mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
    path = f"/reactivate/{token}/"
    assert _get(path, end - timedelta(seconds=1)) == 200
    assert _get(path, end) == 410
    # The email shows that instant on the creator's wall clock, named by its zone.
    local = end.astimezone(ZoneInfo(zone))
    shown = dateformat.format(local, get_format("DATETIME_FORMAT", "en"))
    assert f"expires on {shown} ({zone})" in " ".join(mail.outbox[-1].body.split())
