"""Evaluation and delivery: idempotency, provider errors, retries, alerts, send test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from core.errors import Conflict
from notifications.models import Integration
from notifications.services import integration_delete, integration_validate
from segmentation import jobs, services
from segmentation.consumer import deliveries_create_for_event as segmentation_consume
from segmentation.models import SegmentationDelivery, SegmentationRule
from subscriptions.models import SubscriptionEvent
from subscriptions.services import subscription_cancel
from tests.factories import SubscriptionFactory, actor_for
from tests.notifications.providers.fakes.mailchimp import MailchimpFake, invalid
from tests.segmentation.factories import IntegrationFactory

pytestmark = pytest.mark.django_db
S = SegmentationDelivery.Status


def make_rule(creator: Any, integration: Any, **changes: Any) -> SegmentationRule:
    data = {
        "name": "Win back",
        "triggers": ["CANCELLED_BY_SELLER"],
        "conditions": [],
        "actions": [{"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}],
    }
    data.update(changes)
    return services.rule_create(creator=creator, data=data)


def cancel(creator: Any, **subscriber: Any) -> SubscriptionEvent:
    subscription = SubscriptionFactory(
        plan__product__creator=creator, plan__creator=creator, **subscriber
    )
    subscription_cancel(
        subscription=subscription, actor=actor_for("seller"), reason="too expensive"
    )
    return SubscriptionEvent.objects.get(
        subscription=subscription, type="subscription.status_changed"
    )


@pytest.fixture
def integration(creator):  # type: ignore[no-untyped-def]
    return IntegrationFactory(creator=creator)


def test_an_event_processed_twice_creates_one_delivery_per_action(creator, integration):
    rule = make_rule(
        creator,
        integration,
        actions=[
            {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"},
            {"type": "remove_from_list", "integration": str(integration.uuid), "list": "buyers"},
        ],
    )
    event = cancel(creator)
    assert segmentation_consume(event) == 2
    assert segmentation_consume(event) == 2  # still pending: queued again, not duplicated
    deliveries = SegmentationDelivery.objects.filter(event=event).order_by("action_index")
    assert [(d.rule_id, d.action_type, d.status) for d in deliveries] == [
        (rule.pk, "add_tag", S.PENDING),
        (rule.pk, "remove_from_list", S.PENDING),
    ]
    for delivery in deliveries:
        services.delivery_attempt(delivery_id=delivery.pk)
    assert segmentation_consume(event) == 0
    assert SegmentationDelivery.objects.filter(event=event).count() == 2


def test_conditions_product_and_trigger_decide_who_gets_deliveries(creator, integration):
    make_rule(
        creator,
        integration,
        conditions=[{"field": "subscriber.email", "op": "ends_with", "value": "@VIP.com"}],
    )
    make_rule(creator, integration, triggers=["CANCELLED_BY_CUSTOMER"])
    assert segmentation_consume(cancel(creator, subscriber__email="ana@vip.com")) == 1
    assert segmentation_consume(cancel(creator, subscriber__email="bob@example.com")) == 0


def test_a_delivery_runs_its_action_and_nothing_else(creator, integration, fake_provider):
    make_rule(creator, integration)
    event = cancel(creator, subscriber__email="ana@example.com", subscriber__name="Ana")
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.SUCCEEDED
    # No upsert first: a tag action tags (the consent contract of the adapters).
    assert [(c.method, c.path, c.body) for c in fake_provider.calls] == [
        ("POST", "/contacts/ana@example.com/tags", {"tag": "churned"}),
    ]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (S.SUCCEEDED, 1, "")
    assert delivery.finished_at is not None
    # A duplicate message finds the row claimed already and does nothing.
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert len(fake_provider.calls) == 1


def test_the_providers_field_errors_reach_the_rules_alert(creator, settings):
    with MailchimpFake() as mailchimp:
        settings.PROVIDER_BASE_URLS = {"mailchimp": mailchimp.url}
        audience = mailchimp.seed_list("Customers")
        connected = IntegrationFactory(
            creator=creator, provider="mailchimp", credentials=mailchimp.credentials()
        )
        rule = make_rule(
            creator,
            connected,
            actions=[{"type": "add_to_list", "integration": str(connected.uuid), "list": audience}],
        )
        mailchimp.fail_next(
            invalid([{"field": "merge_fields.BIRTHDAY", "message": "Please enter a date"}])
        )
        event = cancel(creator, subscriber__email="ana@example.com")
        segmentation_consume(event)
        delivery = SegmentationDelivery.objects.get(event=event)
        assert services.delivery_attempt(delivery_id=delivery.pk) == S.FAILED
    rule.refresh_from_db()
    delivery.refresh_from_db()
    assert rule.status == "error"
    assert "merge_fields.BIRTHDAY: Please enter a date" in rule.last_error
    assert "merge_fields.BIRTHDAY: Please enter a date" in delivery.error
    assert delivery.provider_status == 400


def test_401_marks_the_integration_and_every_rule_using_it(creator, integration, fake_provider):
    rule = make_rule(creator, integration)
    other = make_rule(creator, integration, name="Other", triggers=["ACTIVE"])
    event = cancel(creator)
    segmentation_consume(event)
    fake_provider.script = [(401, {})]
    delivery = SegmentationDelivery.objects.get(event=event)
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.FAILED
    delivery.refresh_from_db()
    assert delivery.provider_status == 401
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert "401" in integration.last_error
    for r in (rule, other):
        r.refresh_from_db()
        assert r.status == "error"
        assert r.last_error.startswith(
            f"Integration '{integration.name}' (testmail) refused our credentials: HTTP 401"
        )
        assert r.last_error.endswith("Reconnect it to resume this rule.")
    # The integration validates again with the provider: every alert goes away.
    fake_provider.script = []
    integration_validate(integration=integration)
    for r in (rule, other):
        r.refresh_from_db()
        assert (r.status, r.last_error) == ("ok", "")


def test_an_integration_used_by_a_rule_cannot_be_deleted(creator, integration):
    make_rule(creator, integration, name="Win-back")
    with pytest.raises(Conflict) as refused:
        integration_delete(integration=integration)
    assert "Win-back" in refused.value.message
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_429_with_retry_after_is_retried_no_sooner(creator, integration, fake_provider):
    make_rule(creator, integration)
    event = cancel(creator)
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    fake_provider.script = [(429, {"Retry-After": "30"})]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert services.delivery_attempt(delivery_id=delivery.pk) == S.RETRYING
        delivery.refresh_from_db()
        assert delivery.next_attempt_at >= start + timedelta(seconds=30)
        assert delivery.provider_status == 429
        traveller.shift(timedelta(seconds=29))
        assert jobs.deliveries_requeue_due() == 0
        assert services.delivery_attempt(delivery_id=delivery.pk) is None  # not claimable
        traveller.move_to(delivery.next_attempt_at)
        assert jobs.deliveries_requeue_due() == 1
        assert services.delivery_attempt(delivery_id=delivery.pk) == S.SUCCEEDED
    first, second = fake_provider.calls_to("POST", "/tags")
    assert second.at - first.at >= 30
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.SUCCEEDED, 2)


def test_5xx_retries_with_exponential_backoff_then_gives_up_after_24h(
    creator, integration, fake_provider
):
    make_rule(creator, integration)
    event = cancel(creator)
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for attempt in (1, 2, 3, 4):
            fake_provider.script = [(503, {})]
            now = timezone.now()
            assert services.delivery_attempt(delivery_id=delivery.pk) == S.RETRYING
            delivery.refresh_from_db()
            delay = (delivery.next_attempt_at - now).total_seconds()
            assert 1 <= delay <= 10 * 2 ** (attempt - 1)
            assert delivery.attempts == attempt
            traveller.move_to(delivery.next_attempt_at)
            assert jobs.deliveries_requeue_due() == 1
        traveller.move_to(start + timedelta(hours=24))
        fake_provider.script = [(503, {})]
        assert services.delivery_attempt(delivery_id=delivery.pk) == S.GAVE_UP
    delivery.refresh_from_db()
    assert delivery.error.startswith("gave up after 5 attempts: Test mail answered 503")
    assert delivery.finished_at is not None


def test_400_fails_the_delivery_and_flags_the_rule(creator, integration, fake_provider):
    rule = make_rule(creator, integration)
    event = cancel(creator, subscriber__email="ana@example.com")
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    fake_provider.script = [(404, {})]
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.FAILED
    rule.refresh_from_db()
    integration.refresh_from_db()
    assert integration.status == Integration.Status.CONNECTED
    assert rule.status == "error"
    assert rule.last_error.startswith(
        "actions[0] (add_tag) failed for ana@example.com (HTTP 404): Test mail answered 404"
    )
    # Editing the rule is how the creator fixes it: the flag clears.
    services.rule_update(rule=rule, data={"name": "Fixed"})
    rule.refresh_from_db()
    assert (rule.status, rule.last_error) == ("ok", "")


def test_a_worker_that_died_while_sending_is_recovered_after_5_minutes(
    creator, integration, fake_provider
):
    make_rule(creator, integration)
    event = cancel(creator)
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    stale = services.delivery_claim(delivery_id=delivery.pk)  # the worker dies here
    assert stale is not None
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        assert jobs.deliveries_requeue_due() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert jobs.deliveries_requeue_due() == 1
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.SUCCEEDED
    # The dead attempt, had it come back, cannot overwrite the newer outcome.
    late = services.delivery_record_outcome(
        delivery=stale, outcome=services.Outcome(ok=False, permanent=True, error="late")
    )
    assert late == "superseded"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.SUCCEEDED, 2)
    # The second attempt asked the provider first; the tag was not there, so it tagged.
    assert [c.method for c in fake_provider.calls] == ["GET", "POST"]


def test_a_call_that_reached_the_provider_before_the_worker_died_is_not_sent_again(
    creator, integration, fake_provider
):
    make_rule(creator, integration)
    event = cancel(creator, subscriber__email="ana@example.com")
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    stale = services.delivery_claim(delivery_id=delivery.pk)
    assert stale is not None
    assert services.action_perform(stale).ok  # the provider acted; the worker dies here
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert jobs.deliveries_requeue_due() == 1
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.SUCCEEDED
    assert len(fake_provider.calls_to("POST", "/tags")) == 1  # tagged once
    assert [c.path for c in fake_provider.calls_to("GET")] == ["/contacts/ana@example.com/tags"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (S.SUCCEEDED, 2, "")


def test_a_retry_after_a_timeout_that_still_tagged_is_not_sent_again(
    creator, integration, fake_provider
):
    make_rule(creator, integration)
    event = cancel(creator, subscriber__email="ana@example.com")
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    # The provider applied the tag, but its answer was lost (a gateway timeout → 503).
    claimed = services.delivery_claim(delivery_id=delivery.pk)
    assert claimed is not None
    assert services.action_perform(claimed).ok
    services.delivery_record_outcome(
        delivery=claimed, outcome=services.Outcome(ok=False, error="HTTP 503", provider_status=503)
    )
    delivery.refresh_from_db()
    assert delivery.status == S.RETRYING
    with time_machine.travel(delivery.next_attempt_at):
        assert jobs.deliveries_requeue_due() == 1
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.SUCCEEDED
    assert len(fake_provider.calls_to("POST", "/tags")) == 1


def test_send_email_action_renders_placeholders_safely(creator, integration, mailoutbox):
    make_rule(
        creator,
        integration,
        actions=[
            {
                "type": "send_email",
                "subject": "We miss you, {{ subscriber.name }}",
                "body": "Hi {{subscriber.name}},\ncome back to {{ product.name }}. {% now 'Y' %}",
            }
        ],
    )
    event = cancel(creator, subscriber__name="<b>Ana</b>", plan__product__name="Yoga")
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    assert services.delivery_attempt(delivery_id=delivery.pk) == S.SUCCEEDED
    [email] = mailoutbox
    assert email.to == [event.subscription.subscriber.email]
    assert email.subject == "We miss you, <b>Ana</b>"
    assert "Hi <b>Ana</b>,\ncome back to Yoga. {% now 'Y' %}" in email.body
    html = email.alternatives[0][0]
    assert "Hi &lt;b&gt;Ana&lt;/b&gt;,<br>come back to Yoga." in html
