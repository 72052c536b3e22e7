"""Outbound webhooks (SPEC §9): a creator's endpoints and each event's deliveries.

The tables were created by `notifications`, which held webhooks before they became a
consumer app of their own; they keep their names (`db_table`), so moving the models lost
no row.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedJSONField
from core.tenancy import TenantManager


def default_webhook_events() -> list[str]:
    return ["*"]


class WebhookEndpoint(models.Model):
    """Where a creator wants events POSTed, signed per Standard Webhooks (SPEC §9).

    `secret` (`whsec_` + base64) is encrypted at rest and shown only once, when created.
    Disabled after 5 days of continuous failure or an HTTP 410 (`disabled_reason` says).
    """

    creator = models.ForeignKey(
        "accounts.Creator",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("creator"),
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    url = models.URLField(_("URL"), max_length=2000)
    events = models.JSONField(_("events"), default=default_webhook_events)
    description = models.CharField(_("description"), max_length=500, blank=True)
    secret = EncryptedJSONField(default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(
        max_length=300, blank=True, verbose_name=_("disabled reason")
    )
    failing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("failing since"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        # The table notifications created: the model moved apps, its rows stayed put.
        db_table = "notifications_webhookendpoint"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["creator", "is_active"], name="webhook_ep_creator_active")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event sent (or to send) to one endpoint, with its retry state.

    pending: waiting for its attempt at `next_attempt_at`; succeeded: a 2xx came back;
    failed: every attempt of the schedule failed; gave_up: the endpoint was disabled
    (410, 5 days of failures) or deleted before it succeeded.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        GAVE_UP = "gave_up", _("Gave up")

    creator = models.ForeignKey(
        "accounts.Creator",
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
        verbose_name=_("creator"),
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    # Null for "send test event" deliveries.
    event = models.ForeignKey(
        "subscriptions.SubscriptionEvent",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
        verbose_name=_("event"),
    )
    uuid = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid")
    )  # webhook-id
    event_type = models.CharField(max_length=40, verbose_name=_("event type"))
    payload = models.JSONField(verbose_name=_("payload"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("last status code")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    response_excerpt = models.TextField(blank=True, verbose_name=_("response excerpt"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    objects = TenantManager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        db_table = "notifications_webhookdelivery"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
