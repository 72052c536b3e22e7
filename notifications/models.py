from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedJSONField
from core.tenancy import TenantManager


class OutboxEmail(models.Model):
    """An email captured by the development backend, listed at /dev/outbox/ (DEBUG only)."""

    to = models.JSONField(default=list, verbose_name=_("to"))
    from_email = models.CharField(max_length=254, verbose_name=_("from email"))
    subject = models.CharField(max_length=998, verbose_name=_("subject"))
    body_text = models.TextField(blank=True, verbose_name=_("body text"))
    body_html = models.TextField(blank=True, verbose_name=_("body html"))
    headers = models.JSONField(default=dict, blank=True, verbose_name=_("headers"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("outbox email")
        verbose_name_plural = _("outbox emails")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"


class NewContactStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    PENDING = "pending", _("Pending (double opt-in)")
    TRANSACTIONAL = "transactional", _("Transactional only")


class Integration(models.Model):
    """A creator's connection to an email-marketing provider (SPEC §9).

    Credentials are encrypted at rest and write-only: no page, API answer, log line or
    error message shows them.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        ERROR = "error", _("Error")
        UNCHECKED = "unchecked", _("Not checked")

    creator = models.ForeignKey(
        "accounts.Creator",
        on_delete=models.CASCADE,
        related_name="integrations",
        verbose_name=_("creator"),
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    provider = models.CharField(_("provider"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    credentials = EncryptedJSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.UNCHECKED, verbose_name=_("status")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    last_checked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last checked at"))
    # What a contact that an action creates on a list becomes (see
    # notifications.providers.base.CONTACT_STATUSES); each provider offers the ones it has.
    new_contact_status = models.CharField(
        _("status of new contacts"),
        max_length=20,
        choices=NewContactStatus.choices,
        default=NewContactStatus.SUBSCRIBED,
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"
