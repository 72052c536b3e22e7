"""The cancel flow of the manage page in a real browser, in English and Portuguese: the
product's own reasons, the offer to stay on a cheaper plan, taken; then declined by
another subscriber, who is cancelled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subscriptions.models import Coupon, RecoveryPolicy, Status, SubscriptionEvent
from tests.browser.conftest import shots, sign_in
from tests.browser.test_subscriber_restart import _no_overflow, _sign_in_as_subscriber
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)
from tests.factories import PlanFactory, SubscriptionFactory

TEXTS = {
    "en": ("Before you go", "You are staying with us", "Your subscription is cancelled."),
    "pt-br": ("Antes de você ir", "Você continua com a gente", "Sua assinatura foi cancelada."),
}


@pytest.mark.parametrize("lang", LANGS)
def test_subscriber_takes_the_offer_and_another_declines_it(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    heading, stayed, cancelled = TEXTS[lang]
    plan.price, plan.period = Decimal("50.00"), "monthly"
    plan.save(update_fields=["price", "period"])
    lite = PlanFactory(product=plan.product, name="Lite", price="30.00", currency=plan.currency)
    RecoveryPolicy.objects.create(
        creator=creator,
        product=plan.product,
        cancel_reasons="Too expensive / Muito caro\nNo time / Sem tempo",
        retention_offer=RecoveryPolicy.RetentionOffer.DOWNGRADE,
        retention_plan=lite,
    )
    base = live_server.url
    for n, take in ((1, True), (2, False)):
        email = f"stay-{lang}-{n}@example.com"
        subscription = SubscriptionFactory(
            plan=plan, subscriber__email=email, subscriber__locale=LOCALE_OF[lang]
        )
        _sign_in_as_subscriber(page, base, creator, email, lang)
        card = page.locator(f"#cancel-{subscription.uuid}")
        card.locator("summary").click()
        card.get_by_label("Too expensive / Muito caro").check()
        if take:
            shots(page, f"cancel-reasons-{lang}")
        card.locator("button[type=submit]").click()
        page.wait_for_selector("#retention-offer")
        assert heading in page.locator("h1").inner_text()
        _no_overflow(page)
        if take:
            shots(page, f"retention-offer-{lang}")
            page.click("#offer-accept")
            page.wait_for_load_state()
            assert stayed in page.locator("#messages").inner_text()
            shots(page, f"retention-taken-{lang}")
            subscription.refresh_from_db()
            assert (subscription.status, subscription.scheduled_plan) == (Status.ACTIVE, lite)
            assert SubscriptionEvent.objects.filter(
                subscription=subscription, type="subscription.retained"
            ).exists()
        else:
            page.click("#offer-decline")
            page.wait_for_load_state()
            assert cancelled in page.locator("#messages").inner_text()
            subscription.refresh_from_db()
            assert subscription.status == Status.CANCELLED_BY_CUSTOMER
            assert subscription.cancellation_reason.startswith("Too expensive / Muito caro")
        page.click("#subscriber-sign-out")


COUPON_TEXTS = {
    "en": ("Stay and get 30% off for 2 periods", "you get 30% off for 2 periods"),
    "pt-br": ("Fique e ganhe 30% de desconto por 2 períodos", "você tem 30% de desconto"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_creator_makes_a_coupon_and_a_subscriber_stays_for_it(page, shop, live_server, lang):  # noqa: F811
    creator, owner, plan = shop
    offer_text, taken_text = COUPON_TEXTS[lang]
    base = live_server.url
    sign_in(page, base, owner.email, lang)
    page.goto(f"{base}/coupons/")
    page.fill("#id_code", "stay30")
    page.select_option("#id_kind", "percent")
    page.fill("#id_value", "30")
    page.select_option("#id_duration", "repeating")
    page.fill("#id_duration_periods", "2")
    shots(page, f"coupons-form-{lang}")
    page.click("#coupon-submit")
    page.wait_for_load_state()
    rows = page.locator("#coupons-table tbody tr")
    assert rows.count() == 1 and "STAY30" in rows.first.inner_text()
    shots(page, f"coupons-{lang}")
    page.context.clear_cookies()

    RecoveryPolicy.objects.create(
        creator=creator,
        product=plan.product,
        retention_offer=RecoveryPolicy.RetentionOffer.COUPON,
        retention_coupon=Coupon.objects.get(creator=creator, code="STAY30"),
    )
    email = f"coupon-{lang}@example.com"
    subscription = SubscriptionFactory(
        plan=plan, subscriber__email=email, subscriber__locale=LOCALE_OF[lang]
    )
    _sign_in_as_subscriber(page, base, creator, email, lang)
    card = page.locator(f"#cancel-{subscription.uuid}")
    card.locator("summary").click()
    card.locator("input[name=reason]").first.check()
    card.locator("button[type=submit]").click()
    page.wait_for_selector("#retention-offer")
    assert offer_text in page.locator("#retention-offer").inner_text()
    shots(page, f"retention-coupon-{lang}")
    page.click("#offer-accept")
    page.wait_for_load_state()
    assert taken_text in page.locator("#messages").inner_text()
    subscription.refresh_from_db()
    assert subscription.coupon is not None and subscription.status == Status.ACTIVE
