"""A creator switches a subscription's plan from its detail page, in a real browser, in
English and Portuguese: an upgrade now (the difference charged) and a downgrade for the
next renewal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subscriptions.models import Charge, RecoveryPolicy
from tests.browser.conftest import shots, sign_in
from tests.browser.test_subscriber_restart import _no_overflow, _sign_in_as_subscriber
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)
from tests.factories import PlanFactory, SubscriptionFactory


@pytest.mark.parametrize("lang", LANGS)
def test_creator_switches_a_plan_now_and_at_renewal(page, shop, live_server, lang):  # noqa: F811
    _creator, owner, plan = shop
    plan.price, plan.period = Decimal("50.00"), "monthly"
    plan.save(update_fields=["price", "period"])
    pro = PlanFactory(product=plan.product, name="Pro", price="80.00", currency=plan.currency)
    lite = PlanFactory(product=plan.product, name="Lite", price="30.00", currency=plan.currency)
    subscription = SubscriptionFactory(plan=plan, payment_method="pm_sandbox_ok")
    base = live_server.url
    sign_in(page, base, owner.email, lang)
    page.goto(f"{base}/subscriptions/{subscription.uuid}/")
    page.click("#plan-panel summary")
    page.select_option("#plan-choice", str(pro.uuid))
    shots(page, f"plan-panel-{lang}")
    page.click("#plan-submit")
    page.wait_for_load_state()
    shots(page, f"plan-switched-{lang}")
    subscription.refresh_from_db()
    assert subscription.plan == pro
    charge = Charge.objects.get(subscription=subscription, kind="plan_change")
    # At most the whole difference (80.00 - 50.00), for a switch on the billing day.
    assert charge.status == "succeeded" and Decimal(0) < charge.amount <= Decimal("30.00")
    assert page.locator(".messages .success, .message.success, [role=status]").count() >= 1

    page.click("#plan-panel summary")
    page.select_option("#plan-choice", str(lite.uuid))
    page.click("#plan-submit")
    page.wait_for_load_state()
    assert page.locator("#scheduled-plan").inner_text().startswith("Lite")
    shots(page, f"plan-scheduled-{lang}")
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.scheduled_plan) == (pro, lite)


SUBSCRIBER_TEXTS = {
    "en": ("Change plan", "Switched to Pro"),
    "pt-br": ("Trocar de plano", "Trocado para Pro"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_subscriber_upgrades_from_the_manage_page(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    summary, done = SUBSCRIBER_TEXTS[lang]
    plan.price, plan.period = Decimal("50.00"), "monthly"
    plan.save(update_fields=["price", "period"])
    pro = PlanFactory(product=plan.product, name="Pro", price="80.00", currency=plan.currency)
    RecoveryPolicy.objects.create(
        creator=creator, product=plan.product, subscribers_can_switch_plans=True
    )
    email = f"switch-{lang}@example.com"
    subscription = SubscriptionFactory(
        plan=plan, payment_method="pm_sandbox_ok", subscriber__email=email,
        subscriber__locale=LOCALE_OF[lang],
    )  # fmt: skip
    base = live_server.url
    _sign_in_as_subscriber(page, base, creator, email, lang)
    panel = page.locator(f"#plan-{subscription.uuid}")
    assert panel.locator("summary").inner_text() == summary
    panel.locator("summary").click()
    panel.locator(f"input[value='{pro.uuid}']").check()
    _no_overflow(page)
    shots(page, f"subscriber-plan-{lang}")
    panel.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    assert done in page.locator("#messages").inner_text()
    shots(page, f"subscriber-plan-switched-{lang}")
    subscription.refresh_from_db()
    assert subscription.plan == pro
