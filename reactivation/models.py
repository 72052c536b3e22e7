"""Reactivation requests (SPEC §6): a creator asks, the subscriber accepts or rejects
through a three-day link. Nothing changes on the subscription until they accept."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Creator
from core.tenancy import TenantManager
from subscriptions.models import Charge, Subscription
from subscriptions.reactivation_rules import ReactivationMode as Mode

# The link lives exactly this long after the request is created (SPEC §6.2).
REQUEST_LIFETIME = timedelta(hours=72)


class ReactivationBatch(models.Model):
    """One bulk action: the dashboard polls its progress while the emails go out."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")

    creator = models.ForeignKey(
        Creator,
        on_delete=models.CASCADE,
        related_name="reactivation_batches",
        verbose_name=_("creator"),
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    mode = models.CharField(max_length=24, choices=Mode.choices, verbose_name=_("mode"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_by_label = models.CharField(
        max_length=200, blank=True, verbose_name=_("requested by label")
    )
    total = models.PositiveIntegerField(default=0, verbose_name=_("total"))
    created_count = models.PositiveIntegerField(default=0, verbose_name=_("created count"))
    refused_count = models.PositiveIntegerField(default=0, verbose_name=_("refused count"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SENDING, verbose_name=_("status")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("reactivation batch")
        verbose_name_plural = _("reactivation batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.mode} for {self.created_count} ({self.status})"


class ReactivationRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        SUPERSEDED = "superseded", _("Superseded")
        FAILED = "failed", _("Failed")

    creator = models.ForeignKey(
        Creator,
        on_delete=models.CASCADE,
        related_name="reactivation_requests",
        verbose_name=_("creator"),
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="reactivation_requests",
        verbose_name=_("subscription"),
    )
    mode = models.CharField(_("mode"), max_length=24, choices=Mode.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # Who asked, for people reading the history: "API key sk_live_abc…", "support: a@b.c".
    requested_by_label = models.CharField(
        max_length=200, blank=True, verbose_name=_("requested by label")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    # SHA-256 (hex) of the link's token. The token itself is never stored: it is drawn
    # when the email is sent and exists only in that email.
    token_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, verbose_name=_("token hash")
    )
    # Set when the email task claims the request; null again if the send failed.
    emailed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("emailed at"))
    batch = models.ForeignKey(
        ReactivationBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requests",
        verbose_name=_("batch"),
    )
    failure_message = models.CharField(
        max_length=500, blank=True, verbose_name=_("failure message")
    )
    charge = models.ForeignKey(
        Charge,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("charge"),
    )

    objects = TenantManager()

    class Meta:
        verbose_name = _("reactivation request")
        verbose_name_plural = _("reactivation requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(status="pending"),
                name="reactivation_one_pending_per_subscription",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="reactivation_expires_after_created",
            ),
        ]
        indexes = [
            models.Index(fields=["creator", "-created_at"], name="react_creator_created"),
            models.Index(fields=["creator", "status", "-created_at"], name="react_creator_status"),
            models.Index(
                fields=["expires_at"],
                name="react_pending_expiry",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["created_at"],
                name="react_pending_unsent",
                condition=models.Q(status="pending", emailed_at__isnull=True),
            ),
            models.Index(fields=["batch", "status"], name="react_batch_status"),
        ]

    def __str__(self) -> str:
        return f"{self.mode} → {self.subscription_id} ({self.status})"
