"""A free trial without a card, in a real browser, in English and Portuguese: the
subscriber sees the trial on the manage page, its end is declined for want of a card,
and the subscriber adds one and pays from the emailed link; the trial is converted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from subscriptions import billing, renewals
from subscriptions.models import Status, SubscriptionEvent
from subscriptions.services import SubscriberData, subscription_create
from tests.browser.conftest import open_last_email_link, shots
from tests.browser.test_payment_recovery import _process_events
from tests.browser.test_subscriber_restart import _sign_in_as_subscriber
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)

TRIAL_LABEL = {"en": "Free trial until", "pt-br": "Teste grátis até"}


@pytest.mark.parametrize("lang", LANGS)
def test_trial_without_a_card_ends_and_is_paid_from_the_link(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    plan.price, plan.trial_days, plan.trial_requires_card = Decimal("49.90"), 7, False
    plan.save(update_fields=["price", "trial_days", "trial_requires_card"])
    email = f"trial-{lang}@example.com"
    subscription = subscription_create(
        creator=creator,
        plan=plan,
        subscriber=SubscriberData(email=email, name="Ana", locale=LOCALE_OF[lang]),
        payment_method="",
    )
    base = live_server.url
    _sign_in_as_subscriber(page, base, creator, email, lang)
    assert TRIAL_LABEL[lang] in page.locator(f"#subscription-{subscription.uuid}").inner_text()
    shots(page, f"subscriber-trial-{lang}")

    end = subscription.trial_ends_on
    with time_machine.travel(datetime(end.year, end.month, end.day, 15, tzinfo=UTC)):
        renewals.renewals_run()
        _process_events(subscription)
        subscription.refresh_from_db()
        assert subscription.status == Status.DELAYED
        link = open_last_email_link(page, base, email, "/pay/")
        page.goto(link)
        shots(page, f"trial-payment-page-{lang}")
        page.fill("#payment_method", "pm_sandbox_ok")
        page.click("button.accept")
        page.wait_for_load_state()
        assert page.locator("p.notice.ok").count() == 1
    subscription.refresh_from_db()
    assert (subscription.status, subscription.payment_method) == (Status.ACTIVE, "pm_sandbox_ok")
    assert subscription.next_charge_date == billing.due_date(end, plan.period, 1)
    assert SubscriptionEvent.objects.filter(
        subscription=subscription, type="trial.converted"
    ).exists()
