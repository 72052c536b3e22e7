"""Pause and resume in a real browser, in English and Portuguese: the subscriber pauses
from the manage page, the renewal run pauses instead of charging, and the subscriber
resumes after the paid period with a charge; the creator pauses from the detail page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from subscriptions import renewals
from subscriptions.models import Charge, RecoveryPolicy, Status
from tests.browser.conftest import shots, sign_in
from tests.browser.test_subscriber_restart import _no_overflow, _sign_in_as_subscriber
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)
from tests.factories import SubscriptionFactory

TEXTS = {
    "en": ("Pause instead of cancelling", "paused from", "Resume my subscription", "Active again"),
    "pt-br": (
        "Pausar em vez de cancelar",
        "pausada a partir de",
        "Retomar minha assinatura",
        "Ativa de novo",
    ),
}


def _noon(day):  # type: ignore[no-untyped-def]
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


@pytest.mark.parametrize("lang", LANGS)
def test_subscriber_pauses_then_resumes_after_the_paid_period(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    offer, paused_text, resume_label, active_again = TEXTS[lang]
    RecoveryPolicy.objects.create(
        creator=creator, product=plan.product, subscribers_can_pause=True, max_pause_periods=3
    )
    email = f"pause-{lang}@example.com"
    subscription = SubscriptionFactory(
        plan=plan, subscriber__email=email, subscriber__locale=LOCALE_OF[lang]
    )
    base = live_server.url
    _sign_in_as_subscriber(page, base, creator, email, lang)
    assert page.locator(f"#pause-{subscription.uuid} summary").inner_text() == offer
    page.click(f"#pause-{subscription.uuid} summary")
    page.select_option(f"#pause-periods-{subscription.uuid}", "1")
    _no_overflow(page)
    shots(page, f"subscriber-pause-{lang}")
    page.locator(f"#pause-{subscription.uuid} button[type=submit]").click()
    page.wait_for_load_state()
    assert paused_text in page.locator("#messages").inner_text().lower()
    shots(page, f"subscriber-pause-scheduled-{lang}")
    subscription.refresh_from_db()
    due = subscription.next_charge_date
    assert subscription.pause_starts_on == due

    with time_machine.travel(_noon(due), tick=False):
        renewals.renewals_run()
    subscription.refresh_from_db()
    assert subscription.status == Status.PAUSED
    assert not Charge.objects.filter(subscription=subscription).exists()

    later = due + timedelta(days=10)
    with time_machine.travel(_noon(later)):
        _sign_in_as_subscriber(page, base, creator, email, lang)
        form = page.locator(f"#resume-{subscription.uuid}")
        assert resume_label in form.inner_text()
        _no_overflow(page)
        shots(page, f"subscriber-paused-{lang}")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert active_again in page.locator("#messages").inner_text()
        shots(page, f"subscriber-resumed-{lang}")
    subscription.refresh_from_db()
    assert (subscription.status, subscription.billing_anchor) == (Status.ACTIVE, later)
    [charge] = Charge.objects.filter(subscription=subscription)
    assert (charge.status, charge.period_start) == (Charge.Status.SUCCEEDED, later)


@pytest.mark.parametrize("lang", LANGS)
def test_creator_pauses_from_the_detail_page(page, shop, live_server, lang):  # noqa: F811
    _creator, owner, plan = shop
    subscription = SubscriptionFactory(plan=plan)
    base = live_server.url
    sign_in(page, base, owner.email, lang)
    page.goto(f"{base}/subscriptions/{subscription.uuid}/")
    page.click("#pause-panel summary")
    page.check("#pause-form input[name=length][value=periods]")
    page.fill("#pause-form input[name=periods]", "2")
    shots(page, f"pause-panel-{lang}")
    page.click("#pause-submit")
    page.wait_for_load_state()
    assert page.locator("#resume-panel").is_visible()
    shots(page, f"paused-detail-{lang}")
    subscription.refresh_from_db()
    assert subscription.status == Status.PAUSED
