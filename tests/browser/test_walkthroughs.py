"""The issue's walks through the dashboard in a real browser, in English and Portuguese."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.formats import date_format

from accounts.models import Role
from notifications.models import Integration
from segmentation.models import SegmentationDelivery, SegmentationRule
from subscriptions.models import Status, Subscription
from subscriptions.services import subscription_cancel
from tests.browser.conftest import PASSWORD, open_last_email_link, shot, sign_in
from tests.dashboard.fake_activecampaign import activecampaign
from tests.factories import (
    CreatorFactory,
    MembershipFactory,
    PlanFactory,
    SubscriptionFactory,
    actor_for,
)

LANGS = ["en", "pt-br"]
LOCALE_OF = {"en": "en", "pt-br": "pt-BR"}


@pytest.fixture
def shop(transactional_db, app_settings, live_server):
    app_settings.BASE_URL = live_server.url
    creator = CreatorFactory(name="Loja Exemplo")
    owner = MembershipFactory(creator=creator, role=Role.OWNER).user
    owner.set_password(PASSWORD)
    owner.save()
    plan = PlanFactory(product__creator=creator, creator=creator, name="Mensal")
    return creator, owner, plan


def cancelled_subscriptions(plan, n, locale):
    found = []
    for i in range(n):
        subscription = SubscriptionFactory(
            plan=plan,
            subscriber__email=f"fan{i}-{locale.lower()}@example.com",
            subscriber__locale=locale,
        )
        found.append(subscription_cancel(subscription=subscription, actor=actor_for("customer")))
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_bulk_reactivation_to_accepted(page, shop, live_server, lang):
    _creator, owner, plan = shop
    cancelled = cancelled_subscriptions(plan, 3, LOCALE_OF[lang])
    SubscriptionFactory(plan=plan)  # active: not in the filter
    base = live_server.url
    sign_in(page, base, owner.email, lang)

    page.goto(f"{base}/subscriptions/")
    page.check("#id_status input[value='CANCELLED_BY_CUSTOMER']")
    page.click("#apply-filters")
    page.wait_for_selector("#matching-count[data-count='3']")
    page.check("#select-all-matching")
    page.select_option("#bulk-action", "reactivation_request")
    page.select_option("#bulk-mode-select", "reactivate")
    # "Select all matching" ticks the row boxes and the bar counts the whole match.
    assert page.locator("#subscriptions-table input[name='subscription']:checked").count() == 3
    assert page.locator("#selected-count").get_attribute("data-selected") == "3"
    shot(page, f"bulk-selection-{lang}")
    page.click("#bulk-submit")
    # Nothing goes out before the confirmation says how many emails and what they mean.
    page.wait_for_selector("#bulk-confirm")
    assert page.locator("[data-count='emails']").inner_text() == "3"
    shot(page, f"bulk-confirm-{lang}")
    page.set_viewport_size({"width": 390, "height": 800})
    shot(page, f"bulk-confirm-390-{lang}")
    page.set_viewport_size({"width": 1366, "height": 800})
    page.click("#bulk-confirm-submit")
    page.wait_for_selector("#bulk-summary", timeout=15000)
    assert page.locator("[data-count='done']").inner_text() == "3"
    assert page.locator("[data-count='left']").inner_text() == "0"
    shot(page, f"bulk-progress-{lang}")

    target = cancelled[0]
    link = open_last_email_link(page, base, target.subscriber.email, "/reactivate/")
    page.goto(link)
    shot(page, f"reactivation-page-{lang}")
    page.click("button.accept")
    page.wait_for_load_state()
    shot(page, f"reactivation-accepted-{lang}")

    target.refresh_from_db()
    assert target.status == Status.ACTIVE
    page.goto(f"{base}/subscriptions/{target.uuid}/")
    with translation.override(lang):
        expected = date_format(target.paid_through, "DATE_FORMAT")
        active = str(Status(Status.ACTIVE).label)
    assert page.locator("#subscription-status").inner_text() == active
    assert page.locator("#subscription-next-charge").inner_text() == expected
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, f"subscription-detail-375-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_build_a_rule_and_send_a_test(page, shop, live_server, settings, lang):
    creator, owner, plan = shop
    with activecampaign(settings) as ac:
        integration = Integration.objects.create(
            creator=creator,
            provider="activecampaign",
            name="ActiveCampaign",
            credentials={"api_url": "https://acme.api-us1.com", "api_key": "k"},
            status=Integration.Status.CONNECTED,
        )
        cancelled_subscriptions(plan, 2, LOCALE_OF[lang])
        base = live_server.url
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        sign_in(page, base, owner.email, lang)
        page.goto(f"{base}/segmentations/new/")
        page.fill("#rule-name", "Win back")
        # A name is read in full: the field spans the form, not a dozen characters.
        assert page.locator("#rule-name").bounding_box()["width"] >= 400
        page.check("#rule-triggers input[value='CANCELLED_BY_CUSTOMER']")
        assert page.locator("#no-conditions").is_visible()
        page.click("#add-condition")
        row = page.locator("#conditions .condition-row").first
        row.wait_for()
        # "No conditions" is not said while a condition is there.
        assert not page.locator("#no-conditions").is_visible()
        row.locator("select[name$='-field']").select_option("recurrence")
        row.locator("select[name$='-op']").select_option("gte")
        page.wait_for_timeout(300)  # the row re-renders after its operator changes
        row = page.locator("#conditions .condition-row").first
        row.locator("input[name$='-value']").fill("1")
        row.locator("input[name$='-value']").press("Tab")
        # The first action row already says "Add tag"; choosing the integration re-renders
        # the row with the tags read from the provider.
        page.locator("#actions .action-row select[name$='-integration']").select_option(
            str(integration.uuid)
        )
        page.wait_for_selector("#actions .action-row input[name$='-tag']")
        page.locator("#actions .action-row input[name$='-tag']").fill("churned")
        page.wait_for_selector("#preview-counts strong[data-matching='2']")
        shot(page, f"rule-builder-{lang}")
        page.click("#rule-save")
        page.wait_for_selector("#rule-send-test")
        rule = SegmentationRule.objects.get(creator=creator)
        assert rule.conditions == [{"field": "recurrence", "op": "gte", "value": 1}]
        # Test sends go only to a verified team member: the owner's own address.
        page.fill("#test-email", "probe@example.com")
        page.click("#rule-send-test")
        page.wait_for_selector("#test-error")
        page.fill("#test-email", owner.email)
        page.click("#rule-send-test")
        page.wait_for_selector("#test-result-0")
        assert "OK" in page.locator("#test-result-0").inner_text()
        assert ac.calls_to("POST", "/api/3/contact/sync")
        shot(page, f"rule-send-test-{lang}")
        # htmx's indicator <style> is switched off (htmx-config), so the CSP blocks
        # nothing; no 404 either (the favicon).
        assert not [m for m in console if "Content Security Policy" in m or "404" in m]
        page.set_viewport_size({"width": 375, "height": 800})
        shot(page, f"rule-builder-375-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_subscriber_cancels_and_the_rule_fires(page, shop, live_server, settings, lang):
    creator, owner, plan = shop
    with activecampaign(settings) as ac:
        integration = Integration.objects.create(
            creator=creator,
            provider="activecampaign",
            name="ActiveCampaign",
            credentials={"api_url": "https://acme.api-us1.com", "api_key": "k"},
            status=Integration.Status.CONNECTED,
        )
        from segmentation.services import rule_create

        rule = rule_create(
            creator=creator,
            data={
                "name": "Churned",
                "triggers": ["CANCELLED_BY_CUSTOMER"],
                "actions": [
                    {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}
                ],
            },
        )
        subscription = SubscriptionFactory(
            plan=plan, subscriber__email="leaving@example.com", subscriber__locale=LOCALE_OF[lang]
        )
        base = live_server.url
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
        page.goto(f"{base}/s/{creator.slug}/")
        page.fill("#id_email", "leaving@example.com")
        page.click("#sign-in-request-submit")
        page.wait_for_load_state()
        link = open_last_email_link(page, base, "leaving@example.com", f"/s/{creator.slug}/")
        page.goto(link)
        page.click("#sign-in-continue")
        page.wait_for_selector(f"#cancel-{subscription.uuid}")
        page.click(f"#cancel-{subscription.uuid} summary")
        form = page.locator(f"#cancel-{subscription.uuid} form")
        form.locator("input[type=radio]").first.check()
        shot(page, f"subscriber-cancel-{lang}")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        shot(page, f"subscriber-cancelled-{lang}")

        subscription.refresh_from_db()
        assert subscription.status == Status.CANCELLED_BY_CUSTOMER
        delivery = SegmentationDelivery.objects.get(rule=rule, is_test=False)
        assert delivery.contact_email == "leaving@example.com"
        assert ac.calls_to("POST", "/api/3/contactTags")

        sign_in(page, base, owner.email, lang)
        page.goto(f"{base}/segmentations/{rule.uuid}/deliveries/")
        row = page.locator(f"#delivery-{delivery.uuid}")
        assert "leaving@example.com" in row.inner_text()
        shot(page, f"rule-deliveries-{lang}")
        assert re.search(r"\d", page.locator("#rule-deliveries").inner_text())
        assert Subscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.parametrize("lang", LANGS)
def test_copy_the_webhook_secret_with_one_click(page, shop, live_server, settings, lang):
    _creator, owner, _plan = shop
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    base = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, base, owner.email, lang)
    page.goto(f"{base}/webhooks/new/")
    page.fill("#id_url", "http://127.0.0.1:9/hook")
    page.locator("input[name=all_events]").check()
    page.click("#webhook-submit")
    page.wait_for_selector("#webhook-secret-copy")
    secret = page.input_value("#webhook-secret-value")
    assert secret.startswith("whsec_")
    page.click("#webhook-secret-copy")
    status = page.locator("[data-copy-status='webhook-secret-value']")
    status.wait_for(state="visible")
    assert status.inner_text() in ("Copied", "Copiado")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, f"webhook-secret-copied-{lang}")
