"""The cancel flow of the manage page in a real browser, in English and Portuguese: the
product's own reasons, the offer to stay on a cheaper plan, taken; then declined by
another subscriber, who is cancelled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subscriptions.models import RecoveryPolicy, Status, SubscriptionEvent
from tests.browser.conftest import shots
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
