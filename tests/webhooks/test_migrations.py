"""Moving the webhook models from `notifications` to `webhooks` keeps every row: the
schema as it was before the move (notifications 0002, no webhooks app) is migrated
forward, and what was stored there is read through the new models."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import CreatorFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("notifications", "0002_integrations_and_webhooks"), ("webhooks", None)]


def _migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def test_rows_written_before_the_move_are_read_by_the_webhooks_app():
    creator = CreatorFactory()
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE)
        OldEndpoint = old.get_model("notifications", "WebhookEndpoint")
        OldDelivery = old.get_model("notifications", "WebhookDelivery")
        endpoint = OldEndpoint.objects.create(
            creator_id=creator.pk,
            url="https://hooks.example.com/in",
            events=["charge.failed"],
            secret="whsec_" + "A" * 44,
        )
        OldDelivery.objects.create(
            creator_id=creator.pk,
            endpoint=endpoint,
            event_type="webhook.test",
            payload={"id": "x"},
            status="failed",
            attempts=3,
        )
        ContentType.objects.get_or_create(app_label="notifications", model="webhookendpoint")
    finally:
        _migrate(leaves)

    moved = WebhookEndpoint.objects.unscoped("the test reads every row").get()
    assert (moved.uuid, moved.url, moved.events) == (
        endpoint.uuid,
        "https://hooks.example.com/in",
        ["charge.failed"],
    )
    assert moved.secret == "whsec_" + "A" * 44  # still decrypts
    delivery = WebhookDelivery.objects.unscoped("the test reads every row").get()
    assert (delivery.endpoint_id, delivery.status, delivery.attempts) == (moved.pk, "failed", 3)
    # Permissions and admin history follow the models to their new app.
    assert not ContentType.objects.filter(app_label="notifications", model="webhookendpoint")
    assert ContentType.objects.get_for_model(WebhookEndpoint).app_label == "webhooks"
