"""The subscriber undoes their cancellation, and restarts after the paid period, from the
manage page in a real browser, in English and Portuguese, on a laptop and on a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from subscriptions.models import Charge, Status
from subscriptions.services import subscription_cancel
from tests.browser.conftest import open_last_email_link, shot
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)
from tests.factories import SubscriptionFactory, actor_for

TEXTS = {
    "en": ("Undo the cancellation", "Nothing was charged.", "Restart and pay", "Thank you"),
    "pt-br": ("Desfazer o cancelamento", "Nada foi cobrado.", "Retomar e pagar", "Obrigado"),
}


def _sign_in_as_subscriber(page, base, creator, email, lang):  # type: ignore[no-untyped-def]
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page.goto(f"{base}/s/{creator.slug}/")
    page.fill("#id_email", email)
    page.click("#sign-in-request-submit")
    page.wait_for_load_state()
    page.goto(open_last_email_link(page, base, email, f"/s/{creator.slug}/"))
    page.click("#sign-in-continue")
    page.wait_for_selector("#subscriber-sign-out")


def _no_overflow(page) -> None:  # type: ignore[no-untyped-def]
    wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not wide, "the page scrolls sideways"


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("lang", LANGS)
def test_undo_then_restart_after_the_paid_period(page, shop, live_server, lang, width):  # noqa: F811
    creator, _owner, plan = shop
    undo_label, nothing_charged, restart_label, thanks = TEXTS[lang]
    page.set_viewport_size({"width": width, "height": 900})
    email = f"back-{lang}-{width}@example.com"
    subscription = SubscriptionFactory(
        plan=plan, subscriber__email=email, subscriber__locale=LOCALE_OF[lang]
    )
    subscription_cancel(subscription=subscription, actor=actor_for("customer"))
    base = live_server.url

    _sign_in_as_subscriber(page, base, creator, email, lang)
    form = page.locator(f"#restart-{subscription.uuid}")
    assert undo_label in form.inner_text()
    _no_overflow(page)
    shot(page, f"subscriber-undo-{lang}-{width}")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert nothing_charged in page.locator("#messages").inner_text()
    shot(page, f"subscriber-undone-{lang}-{width}")
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert not Charge.objects.filter(subscription=subscription).exists()

    # Cancelled again, and back after the paid period: restart charges today.
    subscription_cancel(subscription=subscription, actor=actor_for("customer"))
    subscription.refresh_from_db()
    later = subscription.paid_through + timedelta(days=5)
    with time_machine.travel(datetime(later.year, later.month, later.day, 15, tzinfo=UTC)):
        # A month on, the sign-in has long expired: the subscriber signs in again.
        _sign_in_as_subscriber(page, base, creator, email, lang)
        form = page.locator(f"#restart-{subscription.uuid}")
        assert restart_label in form.inner_text()
        _no_overflow(page)
        shot(page, f"subscriber-restart-{lang}-{width}")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert thanks in page.locator("#messages").inner_text()
        shot(page, f"subscriber-restarted-{lang}-{width}")
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert subscription.billing_anchor == later
    [charge] = Charge.objects.filter(subscription=subscription)
    assert charge.status == Charge.Status.SUCCEEDED and charge.period_start == later
