"""Each creator page for each role: what is shown, what is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import (
    ChargeFactory,
    CreatorFactory,
    MembershipFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

PAGES = ["overview", "subscriptions", "team", "api_keys", "settings"]


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboard:subscriptions"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["owner", "manager", "viewer"])
def test_every_page_renders_for_every_role(page, role, creator, login):
    user = MembershipFactory(creator=creator, role=role).user
    SubscriptionFactory(creator=creator, plan__product__creator=creator)
    response = login(user).get(reverse(f"dashboard:{page}"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="skip-link"' in html
    assert creator.name in html
    assert "htmx" in html and "https://" not in html.split("<body")[0]  # no CDN in <head>


def test_user_without_membership_sees_explanation(user, login):
    response = login(user).get(reverse("dashboard:overview"))
    assert response.status_code == 403
    assert "not a member of any creator" in response.content.decode()


def test_viewer_sees_no_write_buttons(creator, viewer, login):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    client = login(viewer)
    detail = client.get(reverse("dashboard:subscription_detail", args=[subscription.uuid]))
    assert 'id="cancel-form"' not in detail.content.decode()
    assert 'id="api-key-form"' not in client.get(reverse("dashboard:api_keys")).content.decode()
    assert 'id="invite-form"' not in client.get(reverse("dashboard:team")).content.decode()
    settings_html = client.get(reverse("dashboard:settings")).content.decode()
    assert 'id="settings-submit"' not in settings_html
    assert "Only owners can change the settings." in settings_html


def test_manager_sees_cancel_and_key_forms_but_not_team_or_settings_writes(creator, manager, login):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    client = login(manager)
    detail = client.get(reverse("dashboard:subscription_detail", args=[subscription.uuid]))
    assert 'id="cancel-form"' in detail.content.decode()
    assert 'id="api-key-form"' in client.get(reverse("dashboard:api_keys")).content.decode()
    assert 'id="invite-form"' not in client.get(reverse("dashboard:team")).content.decode()
    assert 'id="settings-submit"' not in client.get(reverse("dashboard:settings")).content.decode()


def test_owner_sees_every_write_control(creator, owner, login):
    client = login(owner)
    assert 'id="invite-form"' in client.get(reverse("dashboard:team")).content.decode()
    assert 'id="settings-submit"' in client.get(reverse("dashboard:settings")).content.decode()


def test_outsider_gets_404_for_another_tenants_subscription(creator, outsider, login):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    client = login(outsider)
    assert (
        client.get(reverse("dashboard:subscription_detail", args=[subscription.uuid])).status_code
        == 404
    )
    response = client.post(
        reverse("dashboard:subscription_cancel", args=[subscription.uuid]),
        {"reason": "fraud"},
    )
    assert response.status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE"


def test_outsider_list_does_not_show_other_tenants_rows(creator, outsider, login):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    html = login(outsider).get(reverse("dashboard:subscriptions")).content.decode()
    assert subscription.subscriber.email not in html


def test_viewer_gets_403_on_every_write(creator, viewer, owner, login):
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    from tests.api_helpers import member_key

    key = member_key(creator, "manager").api_key
    client = login(viewer)
    owner_uuid = owner.uuid
    writes = [
        (reverse("dashboard:subscription_cancel", args=[subscription.uuid]), {"reason": "fraud"}),
        (reverse("dashboard:api_keys"), {"name": "x", "role": "viewer"}),
        (reverse("dashboard:api_key_revoke", args=[key.uuid]), {}),
        (reverse("dashboard:team"), {"email": "new@example.com", "role": "viewer"}),
        (reverse("dashboard:team_role", args=[owner_uuid]), {"role": "viewer"}),
        (reverse("dashboard:team_remove", args=[owner_uuid]), {}),
        (
            reverse("dashboard:settings"),
            {
                "time_zone": "UTC",
                "locale": "en",
                "currency": "USD",
                "retry_schedule": "1",
                "gateway": "sandbox",
            },
        ),
        (reverse("dashboard:subscriptions_bulk"), {"action": "x"}),
    ]
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    subscription.refresh_from_db()
    key.refresh_from_db()
    creator.refresh_from_db()
    assert subscription.status == "ACTIVE"
    assert key.revoked_at is None
    assert creator.time_zone == "America/Sao_Paulo"


def test_detail_shows_timeline_in_creator_time_zone_and_charges(creator, owner, login):
    from datetime import UTC, datetime

    from subscriptions.models import SubscriptionEvent

    creator.time_zone = "Asia/Tokyo"
    creator.save()
    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    SubscriptionEvent.objects.create(
        creator=creator,
        subscription=subscription,
        type="subscription.created",
        occurred_at=datetime(2024, 3, 1, 20, 30, tzinfo=UTC),
    )
    ChargeFactory(subscription=subscription, amount="1234.50", currency="BRL")
    html = (
        login(owner)
        .get(reverse("dashboard:subscription_detail", args=[subscription.uuid]))
        .content.decode()
    )
    assert "Subscription created" in html
    assert "March 2, 2024, 5:30 a.m." in html  # 20:30 UTC is 05:30 next day in Tokyo
    assert "Asia/Tokyo" in html
    assert "R$1,234.50" in html


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Subscription renewed",
                "Charge failed",
                "Status changed",
                "Active → Cancelled by customer",
            ],
        ),
        (
            "pt-BR",
            [
                "Assinatura renovada",
                "Falha na cobrança",
                "Status alterado",
                "Ativa → Cancelada pelo cliente",
            ],
        ),
    ],
)
def test_timeline_names_every_event_in_the_reader_language(creator, owner, language, expected):
    from datetime import UTC, datetime

    from django.test import Client

    from subscriptions.models import SubscriptionEvent

    subscription = SubscriptionFactory(creator=creator, plan__product__creator=creator)
    for minute, (event_type, data) in enumerate(
        [
            ("subscription.renewed", {}),
            ("charge.failed", {}),
            ("subscription.status_changed", {"from": "ACTIVE", "to": "CANCELLED_BY_CUSTOMER"}),
        ]
    ):
        SubscriptionEvent.objects.create(
            creator=creator,
            subscription=subscription,
            type=event_type,
            data=data,
            occurred_at=datetime(2024, 3, 1, 20, minute, tzinfo=UTC),
        )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get(reverse("dashboard:subscription_detail", args=[subscription.uuid]))
    timeline = html.content.decode().split('id="subscription-timeline"')[1].split("</section>")[0]
    for text in expected:
        assert text in timeline
    for raw in ("subscription.renewed", "charge.failed", "ACTIVE", "CANCELLED_BY_CUSTOMER"):
        assert raw not in timeline


def test_switcher_changes_creator_for_members_of_several(creator, owner, login):
    other = CreatorFactory(name="Second Workspace")
    MembershipFactory(creator=other, user=owner, role=Role.VIEWER)
    client = login(owner)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert 'id="creator-switcher"' in html
    response = client.post(reverse("dashboard:creator_switch"), {"creator": str(other.uuid)})
    assert response.status_code == 302
    assert client.session["creator_id"] == str(other.uuid)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert '<span class="role">Viewer</span>' in html


def test_switcher_refuses_a_creator_one_is_not_member_of(creator, owner, login):
    other = CreatorFactory()
    response = login(owner).post(reverse("dashboard:creator_switch"), {"creator": str(other.uuid)})
    assert response.status_code == 404


@pytest.mark.django_db
def test_every_page_names_its_icon_and_favicon_ico_leads_to_it(client):
    """No 404 for /favicon.ico in the browser's console, on any page."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/favicon.svg")
    from django.contrib.staticfiles import finders

    icon = finders.find("favicon.svg")
    assert icon and "<svg" in open(icon).read()  # noqa: SIM115
    creator = CreatorFactory()
    for url in ("/login/", "/admin/login/", f"/s/{creator.slug}/"):
        page = client.get(url)
        assert 'rel="icon"' in page.content.decode(), url


@pytest.mark.django_db
def test_a_viewer_is_told_the_forms_are_read_only(creator, viewer, owner, login):
    pages = [
        reverse("dashboard:subscriptions"),
        reverse("dashboard:segmentation_create"),
        reverse("dashboard:settings"),
        reverse("dashboard:webhooks"),
    ]
    for url in pages:
        html = login(viewer).get(url).content.decode()
        assert 'id="read-only-notice"' in html, url
        assert "read-only access" in html
    assert 'id="read-only-notice"' not in login(owner).get(pages[0]).content.decode()
    pt = login(viewer).get(pages[0], HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "somente leitura" in pt
