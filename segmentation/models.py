"""Segmentation rules and their delivery log (SPEC §8)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.tenancy import TenantManager

if TYPE_CHECKING:
    from segmentation.compiler import RuleSpec


class SegmentationRule(models.Model):
    """A creator's rule: when a trigger happens and the conditions hold, run the actions.

    `conditions` and `actions` are JSON validated by `segmentation.conditions` on every save
    (through `segmentation.services`); `trigger_keys` repeats `triggers` as
    `|ACTIVE|charge.refunded|` so "the active rules for this trigger" is one indexed query
    on any database.
    """

    class Match(models.TextChoices):
        ALL = "all", _("All conditions")
        ANY = "any", _("Any condition")

    class Health(models.TextChoices):
        OK = "ok", _("OK")
        ERROR = "error", _("Error")

    creator = models.ForeignKey(
        "accounts.Creator",
        on_delete=models.CASCADE,
        related_name="segmentation_rules",
        verbose_name=_("creator"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    name = models.CharField(_("name"), max_length=200)
    # Null: the rule applies to every product of the creator.
    product = models.ForeignKey(
        "subscriptions.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="segmentation_rules",
        verbose_name=_("product"),
    )
    triggers = models.JSONField(default=list, verbose_name=_("triggers"))
    trigger_keys = models.CharField(
        max_length=500, editable=False, default="", verbose_name=_("trigger keys")
    )
    match = models.CharField(
        max_length=3, choices=Match.choices, default=Match.ALL, verbose_name=_("match")
    )
    conditions = models.JSONField(default=list, blank=True, verbose_name=_("conditions"))
    actions = models.JSONField(default=list, verbose_name=_("actions"))
    # The integrations the actions use, kept in step with `actions` by the services, so the
    # rules of an integration that fails authentication are found with one UPDATE.
    integrations = models.ManyToManyField(
        "notifications.Integration",
        blank=True,
        related_name="segmentation_rules",
        verbose_name=_("integrations"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    status = models.CharField(
        max_length=5, choices=Health.choices, default=Health.OK, verbose_name=_("status")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    # Set when the error came from an integration's credentials: cleared when it validates.
    error_integration = models.ForeignKey(
        "notifications.Integration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("error integration"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("segmentation rule")
        verbose_name_plural = _("segmentation rules")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["creator", "is_active"], name="segrule_creator_active"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def spec(self) -> RuleSpec:
        from segmentation.compiler import RuleSpec

        return RuleSpec(
            triggers=tuple(self.triggers),
            match=self.match,
            conditions=tuple(self.conditions),
            product_id=self.product_id,
        )


class SegmentationDelivery(models.Model):
    """One action of one rule for one event (or a test send): the delivery log row.

    Unique on (event, rule, action_index) so a re-delivered event never acts twice. The
    row goes pending → sending → succeeded | failed | retrying → … | gave_up; `sending` is
    claimed with a conditional UPDATE, so only one worker ever runs an attempt.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        RETRYING = "retrying", _("Retrying")
        GAVE_UP = "gave_up", _("Gave up")

    creator = models.ForeignKey(
        "accounts.Creator",
        on_delete=models.CASCADE,
        related_name="segmentation_deliveries",
        verbose_name=_("creator"),
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    rule = models.ForeignKey(
        SegmentationRule,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("rule"),
    )
    event = models.ForeignKey(
        "subscriptions.SubscriptionEvent",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="segmentation_deliveries",
        verbose_name=_("event"),
    )
    integration = models.ForeignKey(
        "notifications.Integration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="segmentation_deliveries",
        verbose_name=_("integration"),
    )
    action_index = models.PositiveSmallIntegerField(verbose_name=_("action index"))
    action_type = models.CharField(max_length=20, verbose_name=_("action type"))
    # The action as it was when the delivery was created: editing a rule later does not
    # change what a queued delivery does.
    action = models.JSONField(default=dict, verbose_name=_("action"))
    contact_email = models.EmailField(verbose_name=_("contact email"))
    contact_name = models.CharField(max_length=200, blank=True, verbose_name=_("contact name"))
    contact_locale = models.CharField(max_length=5, blank=True, verbose_name=_("contact locale"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    # pending: when it was (re)queued; retrying: when it is due again.
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    provider_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("provider status")
    )
    error = models.TextField(blank=True, verbose_name=_("error"))
    is_test = models.BooleanField(default=False, verbose_name=_("is test"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("segmentation delivery")
        verbose_name_plural = _("segmentation deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "rule", "action_index"],
                name="segdelivery_once_per_event_rule_action",
                condition=models.Q(event__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "-created_at"], name="segdelivery_rule_created"),
            models.Index(
                fields=["next_attempt_at"],
                name="segdelivery_waiting",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
            models.Index(
                fields=["started_at"],
                name="segdelivery_sending",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} → {self.contact_email} ({self.status})"
