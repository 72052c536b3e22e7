"""The subscriber moves the day they are charged from the manage page, in a real browser,
in English and Portuguese; the next renewal charges the prorated amount."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from subscriptions import renewals
from subscriptions.models import Charge, RecoveryPolicy
from tests.browser.conftest import shots
from tests.browser.test_subscriber_restart import _no_overflow, _sign_in_as_subscriber
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)
from tests.factories import SubscriptionFactory

TEXTS = {
    "en": ("Change the day you are charged", "The next charge is on"),
    "pt-br": ("Mudar o dia da cobrança", "A próxima cobrança é em"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_subscriber_moves_the_billing_day(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    summary, done = TEXTS[lang]
    RecoveryPolicy.objects.create(
        creator=creator, product=plan.product, subscribers_can_change_billing_day=True
    )
    email = f"day-{lang}@example.com"
    subscription = SubscriptionFactory(
        plan=plan, subscriber__email=email, subscriber__locale=LOCALE_OF[lang]
    )
    due = subscription.next_charge_date
    day = 2 if due.day == 1 else 1
    base = live_server.url
    _sign_in_as_subscriber(page, base, creator, email, lang)
    panel = page.locator(f"#billing-day-{subscription.uuid}")
    assert panel.locator("summary").inner_text() == summary
    panel.locator("summary").click()
    page.select_option(f"#billing-day-{subscription.uuid}-day", str(day))
    _no_overflow(page)
    shots(page, f"subscriber-billing-day-{lang}")
    panel.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert done in page.locator("#messages").inner_text()
    shots(page, f"subscriber-billing-day-done-{lang}")
    subscription.refresh_from_db()
    new_due = subscription.next_charge_date
    assert new_due.day == day and subscription.charge_adjustment != 0
    with time_machine.travel(datetime(new_due.year, new_due.month, new_due.day, 15, tzinfo=UTC)):
        renewals.renewals_run()
    [charge] = Charge.objects.filter(subscription=subscription)
    assert charge.amount == max(plan.price + subscription.charge_adjustment, Decimal(0))
