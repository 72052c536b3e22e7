"""Payment links (SPEC §4.6): the subscriber's way to pay a late subscription.

Each failed renewal or retry of a late subscription issues one link, emailed to the
subscriber; it works until the unpaid period ends and only while the subscription is
still late. Opening it changes nothing; paying through it returns the subscription to
ACTIVE on its original anchor. A card link (`card_notices`) is the same page without an
amount: it replaces a card about to expire and works until that card's expiry.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Creator
from core.tenancy import TenantManager
from subscriptions.models import Subscription, SubscriptionEvent


class PaymentLink(models.Model):
    class Purpose(models.TextChoices):
        # A late subscription's unpaid period (from a failed renewal or retry).
        OVERDUE = "overdue", _("overdue payment")
        # A reactivate-and-charge whose charge was declined: pay it with another card.
        REACTIVATION = "reactivation", _("declined reactivation")
        # The saved card expires soon: replace it (nothing is charged through the link).
        CARD = "card", _("card expiring")

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="+", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="payment_links",
        verbose_name=_("subscription"),
    )
    # The `charge.failed` event this link answers: unique, so an event processed twice
    # (the outbox delivers at least once) issues one link and one email.
    event = models.OneToOneField(
        SubscriptionEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="payment_link",
        verbose_name=_("event"),
    )
    purpose = models.CharField(
        max_length=20, choices=Purpose.choices, default=Purpose.OVERDUE, verbose_name=_("purpose")
    )
    # For a reactivation link: the request's uuid (the reactivation app pays it).
    reference = models.UUIDField(null=True, blank=True, verbose_name=_("reference"))
    # The unpaid period the link pays, and its amount as it was when the charge failed.
    # For a card link: the expiry date of the card it asks to replace, and amount 0.
    period_start = models.DateField(verbose_name=_("period start"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    attempt = models.PositiveSmallIntegerField(default=1, verbose_name=_("attempt"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    # SHA-256 of the token, set when the email is sent (the token lives only there).
    token_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, verbose_name=_("token hash")
    )
    emailed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("emailed at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("payment link")
        verbose_name_plural = _("payment links")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="paylink_sub_created"),
            models.Index(
                fields=["created_at"],
                name="paylink_unsent",
                condition=models.Q(emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"payment link for {self.subscription_id} ({self.period_start})"


class NoticeSent(models.Model):
    """A lifecycle notice emailed for an event, once per kind: the outbox delivers events
    at least once, and this row (unique on event and kind) makes the email go once."""

    class Kind(models.TextChoices):
        CANCELLED_UNPAID_SUBSCRIBER = (
            "cancelled_unpaid_subscriber",
            _("cancelled for non-payment (to the subscriber)"),
        )
        CANCELLED_UNPAID_CREATOR = (
            "cancelled_unpaid_creator",
            _("cancelled for non-payment (to the creator)"),
        )
        RENEWAL_REMINDER = "renewal_reminder", _("renewal reminder")
        TRIAL_ENDING = "trial_ending", _("free trial ending")

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="+", verbose_name=_("creator")
    )
    event = models.ForeignKey(
        SubscriptionEvent, on_delete=models.CASCADE, related_name="+", verbose_name=_("event")
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Set when its email is handed to the mail provider; a row left empty (broker down,
    # worker killed) is sent by the `notice_email_sweep` job.
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("notice sent")
        verbose_name_plural = _("notices sent")
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="notice_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="notice_unsent",
                condition=models.Q(sent_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for event {self.event_id}"
