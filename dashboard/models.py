from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.tenancy import TenantManager


class SubscriberSignInToken(models.Model):
    """A one-hour link that signs a subscriber in to the manage page (SPEC §7.2).

    Only the SHA-256 of the token is stored; the token itself is in the email alone.
    Single purpose (this table is used for nothing else) and single use (`used_at`).
    """

    creator = models.ForeignKey(
        "accounts.Creator",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("creator"),
    )
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber",
        on_delete=models.CASCADE,
        related_name="sign_in_tokens",
        verbose_name=_("subscriber"),
    )
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("token hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("subscriber sign-in token")
        verbose_name_plural = _("subscriber sign-in tokens")
        indexes = [models.Index(fields=["creator", "expires_at"], name="signin_creator_expires")]

    def __str__(self) -> str:
        return f"sign-in for subscriber {self.subscriber_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class BulkJob(models.Model):
    """A bulk action over a selection of subscriptions, run by a Celery task so "select
    all N matching" works for thousands; its page polls the job until the summary.

    `params` holds what the task needs to rebuild the selection: the filter query string,
    the ticked uuids or `all_matching`, and the action's own inputs (e.g. the mode).
    `result` is what the action reports (e.g. the reactivation batch and refusals).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    creator = models.ForeignKey(
        "accounts.Creator", on_delete=models.CASCADE, related_name="+", verbose_name=_("creator")
    )
    action = models.CharField(max_length=50, verbose_name=_("action"))
    params = models.JSONField(default=dict, verbose_name=_("params"))
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("bulk job")
        verbose_name_plural = _("bulk jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="bulkjob_waiting",
                condition=models.Q(status__in=["queued", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} ({self.status})"
