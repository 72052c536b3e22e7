"""The new event types reach the consumers: a segmentation rule can trigger on them and
a webhook endpoint can subscribe to them (SPEC §4.6, §8.1, §9)."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from segmentation.models import SegmentationDelivery
from segmentation.services import rule_create
from subscriptions import renewals
from tests.recovery.conftest import at, declined_renewal, process_events, token_from_last_email
from tests.segmentation.factories import IntegrationFactory
from webhooks.services import EVENT_TYPES

pytestmark = pytest.mark.django_db


def test_rules_trigger_on_failed_charges_and_recoveries():
    sub = declined_renewal()
    integration = IntegrationFactory(creator=sub.creator, provider="sandbox", credentials={})
    rule = rule_create(
        creator=sub.creator,
        data={
            "name": "Recovery",
            "triggers": ["charge.failed", "payment_method.updated", "subscription.recovered"],
            "actions": [{"type": "add_tag", "integration": str(integration.uuid), "tag": "late"}],
        },
    )
    with at(date(2026, 2, 11)):
        renewals.retries_run()  # the first retry is declined too
        process_events(sub)
    token = token_from_last_email()
    with at(date(2026, 2, 12)):
        Client().post(f"/pay/{token}/", {"payment_method": "pm_sandbox_ok"})
        process_events(sub)
    fired = SegmentationDelivery.objects.filter(rule=rule).select_related("event")
    assert sorted(d.event.type for d in fired) == [
        "charge.failed",
        "payment_method.updated",
        "subscription.recovered",
    ]


def test_webhooks_offer_the_new_types():
    assert {"charge.failed", "payment_method.updated", "subscription.recovered"} <= set(EVENT_TYPES)
