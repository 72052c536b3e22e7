"""Issue 15's walks in a real browser, in English and Portuguese: a declined renewal
(and a declined reactivate-and-charge) paid from the payment page with a working test
card."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from reactivation import services as reactivation_services
from recovery.card_notices import card_expiry_notices_send
from subscriptions import billing, renewals
from subscriptions.models import Charge, RecoveryPolicy, Status, Subscription, SubscriptionEvent
from subscriptions.outbox import event_process
from subscriptions.services import subscription_cancel
from tests.browser.conftest import open_last_email_link, shots, sign_in
from tests.browser.test_walkthroughs import LANGS, LOCALE_OF, shop  # noqa: F401 (fixture)
from tests.factories import SubscriptionFactory, actor_for, labelled_actor


def _process_events(subscription: Subscription) -> None:
    """What the events worker does: run the consumers (the email goes out inline)."""
    pending = SubscriptionEvent.objects.filter(subscription=subscription, processed_at__isnull=True)
    for event_id in pending.order_by("id").values_list("pk", flat=True):
        with TestCase.captureOnCommitCallbacks(execute=True):
            event_process(event_id=event_id)


def _name_product(plan) -> None:  # type: ignore[no-untyped-def]
    plan.product.name = "Yoga Club"
    plan.product.save(update_fields=["name"])


@pytest.mark.parametrize("lang", LANGS)
def test_declined_renewal_paid_from_the_emailed_link(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    _name_product(plan)
    today = timezone.localdate(timezone.now(), creator.tz)
    anchor = billing.add_months(today, -1)
    subscription = SubscriptionFactory(
        plan=plan,
        subscriber__email=f"late-{lang}@example.com",
        subscriber__locale=LOCALE_OF[lang],
        payment_method="pm_sandbox_declined",
        billing_anchor=anchor,
        next_charge_date=today,
        paid_through=today,
    )
    renewals.renewals_run()
    _process_events(subscription)
    subscription.refresh_from_db()
    assert subscription.status == Status.DELAYED and subscription.next_retry_date is not None

    base = live_server.url
    link = open_last_email_link(page, base, subscription.subscriber.email, "/pay/")
    shots(page, f"payment-email-{lang}")
    page.goto(link)
    shots(page, f"payment-page-{lang}")
    page.fill("#payment_method", "pm_sandbox_ok")
    page.click("button.accept")
    page.wait_for_load_state()
    shots(page, f"payment-paid-{lang}")
    assert page.locator("p.notice.ok").count() == 1

    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert subscription.billing_anchor == anchor
    assert (
        subscription.paid_through == subscription.next_charge_date == billing.add_months(anchor, 2)
    )
    assert subscription.next_retry_date is None
    succeeded = Charge.objects.filter(subscription=subscription, status="succeeded")
    assert [(c.kind, c.period_start) for c in succeeded] == [("retry", today)]
    # The retry job has nothing left to do for it.
    renewals.retries_run()
    assert Charge.objects.filter(subscription=subscription).count() == 2


@pytest.mark.parametrize("lang", LANGS)
def test_declined_reactivate_and_charge_paid_with_another_card(page, shop, live_server, lang):  # noqa: F811
    _creator, _owner, plan = shop
    _name_product(plan)
    subscription = SubscriptionFactory(
        plan=plan,
        subscriber__email=f"back-{lang}@example.com",
        subscriber__locale=LOCALE_OF[lang],
        payment_method="pm_sandbox_declined",
    )
    subscription = subscription_cancel(subscription=subscription, actor=actor_for("customer"))
    Subscription.objects.filter(pk=subscription.pk).update(
        paid_through=billing.add_months(subscription.paid_through, -2)
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        reactivation_services.reactivation_request_create(
            subscription=subscription, mode="reactivate_and_charge", actor=labelled_actor("test")
        )

    base = live_server.url
    link = open_last_email_link(page, base, subscription.subscriber.email, "/reactivate/")
    page.goto(link)
    page.click("button.accept")
    page.wait_for_load_state()
    shots(page, f"reactivation-declined-{lang}")
    page.click("#pay-link")
    page.wait_for_load_state()
    shots(page, f"reactivation-payment-page-{lang}")
    page.fill("#payment_method", "pm_sandbox_ok")
    page.click("button.accept")
    page.wait_for_load_state()
    assert page.locator("p.notice.ok").count() == 1

    subscription.refresh_from_db()
    today = timezone.localdate(timezone.now(), subscription.creator.tz)
    assert subscription.status == Status.ACTIVE
    assert subscription.billing_anchor == today
    assert subscription.next_charge_date == billing.add_months(today, 1)
    charges = Charge.objects.filter(subscription=subscription, kind="reactivation")
    assert sorted(c.status for c in charges) == ["declined", "succeeded"]


@pytest.mark.parametrize("lang", LANGS)
def test_expiring_card_replaced_from_the_emailed_link(page, shop, live_server, lang):  # noqa: F811
    creator, _owner, plan = shop
    _name_product(plan)
    today = timezone.localdate(timezone.now(), creator.tz)
    # A card valid through the end of next month: warned of today.
    following = billing.add_months(today.replace(day=1), 2)
    expires = following - timedelta(days=1)
    subscription = SubscriptionFactory(
        plan=plan,
        subscriber__email=f"card-{lang}@example.com",
        subscriber__locale=LOCALE_OF[lang],
        payment_method="pm_sandbox_ok",
        card_expires_on=expires,
        next_charge_date=billing.add_months(today, 1),
        paid_through=billing.add_months(today, 1),
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert card_expiry_notices_send() == 1

    base = live_server.url
    link = open_last_email_link(page, base, subscription.subscriber.email, "/pay/")
    shots(page, f"card-email-{lang}")
    page.goto(link)
    shots(page, f"card-page-{lang}")
    page.fill("#payment_method", "pm_sandbox_ok_new")
    page.click("button.accept")
    page.wait_for_load_state()
    assert page.locator("p.notice.error").count() == 1  # not a payment method: said so
    page.fill("#payment_method", "pm_sandbox_insufficient_funds")
    page.click("button.accept")
    page.wait_for_load_state()
    shots(page, f"card-saved-{lang}")
    assert page.locator("p.notice.ok").count() == 1

    subscription.refresh_from_db()
    assert subscription.payment_method == "pm_sandbox_insufficient_funds"
    assert subscription.status == Status.ACTIVE
    assert not Charge.objects.filter(subscription=subscription).exists()


@pytest.mark.parametrize("lang", LANGS)
def test_creator_sets_a_products_recovery(page, shop, live_server, lang):  # noqa: F811
    _creator, owner, plan = shop
    base = live_server.url
    sign_in(page, base, owner.email, lang)
    page.goto(f"{base}/settings/")
    page.locator("#recovery-products a").first.click()
    page.wait_for_selector("#recovery-form")
    page.fill("#id_retry_schedule", "2, 4")
    page.select_option("#id_final_action", "cancel")
    page.uncheck("#id_send_payment_failed_email")
    page.uncheck("#id_send_card_expiring_email")
    page.fill("#id_payment_failed_message", "Your card bounced; pay below.")
    shots(page, f"recovery-policy-{lang}")
    page.click("#recovery-submit")
    page.wait_for_selector("#recovery-form")
    policy = RecoveryPolicy.objects.get(product=plan.product)
    assert (policy.retry_schedule, policy.final_action, policy.send_payment_failed_email) == (
        [2, 4],
        "cancel",
        False,
    )
    assert policy.send_card_expiring_email is False
    page.goto(f"{base}/settings/#recovery")
    assert "2, 4" in page.locator("#recovery-products").inner_text()
    shots(page, f"settings-recovery-{lang}")

    page.goto(f"{base}/settings/recovery/{plan.product.uuid}/")
    page.fill("#id_retry_schedule", "5, 2")
    page.click("#recovery-submit")
    page.wait_for_selector("#recovery-form .errorlist")
    assert RecoveryPolicy.objects.get(product=plan.product).retry_schedule == [2, 4]
