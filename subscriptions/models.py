from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.models import Creator, validate_retry_schedule
from core.actors import ActorKind
from core.tenancy import TenantManager
from subscriptions.events import EventType


class Period(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    BIMONTHLY = "bimonthly", _("Every two months")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMIANNUAL = "semiannual", _("Every six months")
    YEARLY = "yearly", _("Yearly")


class Status(models.TextChoices):
    """Names kept identical to Hotmart's API so data maps one to one (SPEC §4.2)."""

    STARTED = "STARTED", _("Started")
    INACTIVE = "INACTIVE", _("Inactive")
    ACTIVE = "ACTIVE", _("Active")
    DELAYED = "DELAYED", _("Payment late")
    PAUSED = "PAUSED", _("Paused")
    OVERDUE = "OVERDUE", _("Ended")
    CANCELLED_BY_CUSTOMER = "CANCELLED_BY_CUSTOMER", _("Cancelled by customer")
    CANCELLED_BY_SELLER = "CANCELLED_BY_SELLER", _("Cancelled by seller")
    CANCELLED_BY_ADMIN = "CANCELLED_BY_ADMIN", _("Cancelled by support")


CANCELLED_STATUSES = frozenset(
    {Status.CANCELLED_BY_CUSTOMER, Status.CANCELLED_BY_SELLER, Status.CANCELLED_BY_ADMIN}
)
# Statuses from which the billing engine still charges.
BILLABLE_STATUSES = frozenset({Status.ACTIVE, Status.DELAYED})


class CancellationSource(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    SELLER = "seller", _("Seller")
    ADMIN = "admin", _("Support")


# The cancellation source follows from who acted, never from client input (SPEC §4.2).
CANCELLATION_SOURCE_BY_ACTOR = {
    ActorKind.MEMBER: CancellationSource.SELLER,
    ActorKind.API_KEY: CancellationSource.SELLER,
    ActorKind.SUBSCRIBER: CancellationSource.CUSTOMER,
    ActorKind.SUPPORT: CancellationSource.ADMIN,
    ActorKind.SYSTEM: CancellationSource.ADMIN,
}

CANCELLED_STATUS_BY_SOURCE = {
    CancellationSource.CUSTOMER: Status.CANCELLED_BY_CUSTOMER,
    CancellationSource.SELLER: Status.CANCELLED_BY_SELLER,
    CancellationSource.ADMIN: Status.CANCELLED_BY_ADMIN,
}


class Product(models.Model):
    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="products", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["creator", "name"])]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="plans", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="plans", verbose_name=_("product")
    )
    name = models.CharField(_("name"), max_length=200)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    period = models.CharField(_("period"), max_length=12, choices=Period.choices)
    max_cycles = models.PositiveIntegerField(_("maximum cycles"), null=True, blank=True)
    # A free trial before the first charge (subscriptions/trials.py): 0 for none.
    trial_days = models.PositiveSmallIntegerField(
        _("free trial, days"), default=0, validators=[MaxValueValidator(90)]
    )
    trial_requires_card = models.BooleanField(_("free trial needs a card"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["product__name", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="plan_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} · {self.name}" if self.product_id else self.name


class RecoveryPolicy(models.Model):
    """How one product recovers a failed renewal (SPEC §4.6) and treats a pause (SPEC
    §4.7). A product without a row follows the defaults: the creator's retry schedule,
    leave unpaid after the last retry, access kept, every email sent, the standard
    wording; access kept through a pause until the paid period ends, and subscribers
    cannot pause themselves."""

    class RetentionOffer(models.TextChoices):
        NONE = "", _("No offer")
        PAUSE = "pause", _("A pause instead")
        DOWNGRADE = "downgrade", _("A cheaper plan instead")
        COUPON = "coupon", _("A discount instead")

    class PauseAccess(models.TextChoices):
        PAID_THROUGH = "paid_through", _("Keep access until the paid period ends")
        STOP = "stop", _("Stop access as soon as it is paused")

    class FinalAction(models.TextChoices):
        LEAVE_UNPAID = "leave_unpaid", _("Leave it late until the next renewal")
        CANCEL = "cancel", _("Cancel it (cancelled by support, reason: unpaid)")

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="+", verbose_name=_("creator")
    )
    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, related_name="recovery_policy", verbose_name=_("product")
    )
    # Days after the due date; null follows the creator's schedule (Settings).
    retry_schedule = models.JSONField(
        _("retry schedule (days after due date)"),
        null=True,
        blank=True,
        validators=[validate_retry_schedule],
    )
    final_action = models.CharField(
        _("after the last retry"),
        max_length=20,
        choices=FinalAction.choices,
        default=FinalAction.LEAVE_UNPAID,
    )
    access_while_retrying = models.BooleanField(_("keep access while retrying"), default=True)
    send_payment_failed_email = models.BooleanField(
        _("email the subscriber when a payment fails"), default=True
    )
    # Replaces the email's first paragraph when set; the amount, the next attempt and
    # the payment link always follow it.
    payment_failed_message = models.TextField(
        _("wording of the payment-failed email"), blank=True, max_length=2000
    )
    # Days before a renewal the subscriber is reminded of it (`renewal.upcoming`).
    # None: the default, 7 days for yearly plans and none for shorter ones; 0: never;
    # N: every plan of the product whose period is longer than N days.
    renewal_reminder_days = models.PositiveSmallIntegerField(
        _("renewal reminder, days before"), null=True, blank=True
    )
    # The month before the saved card expires, email a link to replace it.
    send_card_expiring_email = models.BooleanField(
        _("email the subscriber when the card is about to expire"), default=True
    )
    pause_access = models.CharField(
        _("access while paused"),
        max_length=20,
        choices=PauseAccess.choices,
        default=PauseAccess.PAID_THROUGH,
    )
    # The manage page offers "Pause" (for 1 to `max_pause_periods` periods).
    subscribers_can_pause = models.BooleanField(
        _("subscribers can pause from their page"), default=False
    )
    # The manage page offers "Change plan" (subscriptions/plan_changes.py).
    subscribers_can_switch_plans = models.BooleanField(
        _("subscribers can switch plans"), default=False
    )
    # The manage page offers "Change billing day" (subscriptions/billing_day.py).
    subscribers_can_change_billing_day = models.BooleanField(
        _("subscribers can change their billing day"), default=False
    )
    max_pause_periods = models.PositiveSmallIntegerField(
        _("longest pause a subscriber can choose, in periods"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    # The cancel flow on the manage page (subscriptions/retention.py): the reasons offered
    # (one per line; empty: the standard list) and at most one offer before cancelling.
    cancel_reasons = models.TextField(_("cancellation reasons"), blank=True, max_length=2000)
    retention_offer = models.CharField(
        _("offer before cancelling"),
        max_length=12,
        choices=RetentionOffer.choices,
        default=RetentionOffer.NONE,
        blank=True,
    )
    retention_pause_periods = models.PositiveSmallIntegerField(
        _("periods of the offered pause"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    retention_plan = models.ForeignKey(
        "Plan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offered plan"),
    )
    retention_coupon = models.ForeignKey(
        "Coupon",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offered coupon"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("recovery policy")
        verbose_name_plural = _("recovery policies")

    def __str__(self) -> str:
        return f"recovery policy of product {self.product_id}"


class Coupon(models.Model):
    """A discount code (subscriptions/coupons.py): percent or amount off, for one charge,
    N periods or forever, limited in redemptions, time and plans."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        AMOUNT = "amount", _("Amount off")

    class Duration(models.TextChoices):
        ONCE = "once", _("One charge")
        REPEATING = "repeating", _("A number of periods")
        FOREVER = "forever", _("Forever")

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="coupons", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    code = models.CharField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    percent_off = models.DecimalField(
        _("percent off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    amount_off = models.DecimalField(
        _("amount off"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    duration = models.CharField(_("duration"), max_length=10, choices=Duration.choices)
    duration_periods = models.PositiveSmallIntegerField(_("periods"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(_("maximum redemptions"), null=True, blank=True)
    redemptions = models.PositiveIntegerField(_("redemptions"), default=0)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # Empty: every plan of the creator.
    plans = models.ManyToManyField(
        Plan, blank=True, related_name="coupons", verbose_name=_("plans")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["creator", "code"], name="coupon_code_per_creator"),
        ]

    def __str__(self) -> str:
        return self.code


class Subscriber(models.Model):
    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="subscribers", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    email = models.EmailField(_("email"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    locale = models.CharField(
        _("locale"), max_length=5, choices=Creator.Locale.choices, default=Creator.Locale.PT_BR
    )
    # The gateway's customer id (Stripe `cus_…`); empty for the sandbox.
    gateway_customer_id = models.CharField(
        max_length=100, blank=True, verbose_name=_("gateway customer id")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                "creator", Lower("email"), name="subscriber_email_unique_per_creator"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class Subscription(models.Model):
    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("subscriber"),
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan")
    )
    # A plan switch that takes effect at the next renewal (a downgrade, or a change of
    # period; subscriptions/plan_changes.py): the renewal run switches, then charges it.
    scheduled_plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plan from the next renewal"),
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.STARTED
    )
    payment_method = models.CharField(_("payment method"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started at"))
    # A local date in the creator's time zone; due dates are anchor + n periods (SPEC §4.3).
    billing_anchor = models.DateField(_("billing anchor"))
    next_charge_date = models.DateField(_("next charge date"), null=True, blank=True)
    paid_through = models.DateField(_("paid through"), null=True, blank=True)
    recurrence = models.PositiveIntegerField(_("periods paid"), default=0)
    unpaid_recurrences = models.PositiveIntegerField(_("consecutive unpaid recurrences"), default=0)
    # While DELAYED: how many retries of the current due charge were made, and when the next is.
    retry_attempt = models.PositiveSmallIntegerField(default=0, verbose_name=_("retry attempt"))
    next_retry_date = models.DateField(null=True, blank=True, verbose_name=_("next retry date"))
    # The decline code of a hard decline (stolen card, closed account, "do not try
    # again"): automatic charges stop until the payment method changes. Empty otherwise.
    retries_stopped_code = models.CharField(
        max_length=60, blank=True, verbose_name=_("retries stopped code")
    )
    # The due date the subscriber was last reminded of (`renewal.upcoming`): one reminder
    # per renewal, whoever runs the job.
    renewal_reminded_for = models.DateField(_("renewal reminded for"), null=True, blank=True)
    # The last day the saved card can be charged (its expiry month's end), when the
    # processor told us (subscriptions.cards); and the expiry the subscriber was last
    # warned of, so the card-expiring notice goes once per card.
    card_expires_on = models.DateField(_("card expires on"), null=True, blank=True)
    card_expiry_noticed_for = models.DateField(_("card expiry noticed for"), null=True, blank=True)
    # A pause (subscriptions/pauses.py): `pause_starts_on` is set while a pause waits
    # for the period end (the renewal run pauses instead of charging on that date);
    # `paused_on` is the local date a PAUSED subscription stopped; `resumes_on` the date
    # the resume job starts its next period (null: until someone resumes it).
    pause_starts_on = models.DateField(_("pause starts on"), null=True, blank=True)
    paused_on = models.DateField(_("paused on"), null=True, blank=True)
    resumes_on = models.DateField(_("resumes on"), null=True, blank=True)
    # A coupon (subscriptions/coupons.py), its terms copied so a charge needs no query:
    # charges of periods starting before `coupon_ends_on` (null: forever) are discounted.
    coupon = models.ForeignKey(
        "Coupon",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("coupon"),
    )
    coupon_percent_off = models.DecimalField(
        _("coupon percent off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    coupon_amount_off = models.DecimalField(
        _("coupon amount off"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    coupon_starts_on = models.DateField(_("coupon from the period starting"), null=True, blank=True)
    coupon_ends_on = models.DateField(_("coupon until the period starting"), null=True, blank=True)
    # The last day of a free trial (subscriptions/trials.py): the first charge is due on
    # it. Kept after the trial, so a subscriber gets one trial per product.
    trial_ends_on = models.DateField(_("free trial ends on"), null=True, blank=True)
    # A change of billing day (subscriptions/billing_day.py): when it was last changed (at
    # most once a period), and the prorated amount added to (or, negative, taken off) the
    # charge of the period starting `charge_adjustment_for`, whoever makes that charge.
    billing_day_changed_on = models.DateField(_("billing day changed on"), null=True, blank=True)
    charge_adjustment = models.DecimalField(
        _("charge adjustment"), max_digits=12, decimal_places=2, default=0
    )
    charge_adjustment_for = models.DateField(
        _("charge adjustment for the period starting"), null=True, blank=True
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_source = models.CharField(
        _("cancellation source"), max_length=10, choices=CancellationSource.choices, blank=True
    )
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["creator", "status", "-created_at"], name="sub_creator_status_created"
            ),
            models.Index(fields=["creator", "-created_at"], name="sub_creator_created"),
            # The dashboard table pages by (created_at DESC NULLS LAST, uuid DESC): without
            # an index in exactly that order PostgreSQL sorted every row of the creator
            # (p95 ~0.9 s at 200,000 rows, B3 in docs/benchmarks.md).
            models.Index(
                F("creator"),
                F("status"),
                F("created_at").desc(nulls_last=True),
                F("uuid").desc(),
                name="sub_table_status_created",
            ),
            models.Index(
                F("creator"),
                F("created_at").desc(nulls_last=True),
                F("uuid").desc(),
                name="sub_table_created",
            ),
            models.Index(fields=["plan", "status"], name="sub_plan_status"),
            # The billing jobs page through due rows in (date, id) order.
            models.Index(
                fields=["next_charge_date", "id"],
                name="sub_due_billable",
                condition=models.Q(status__in=["ACTIVE", "DELAYED"]),
            ),
            models.Index(
                fields=["next_retry_date", "id"],
                name="sub_retry_due",
                condition=models.Q(status="DELAYED"),
            ),
            # The resume job pages through the pauses that end, in (date, id) order.
            models.Index(
                fields=["resumes_on", "id"],
                name="sub_resume_due",
                condition=models.Q(status="PAUSED", resumes_on__isnull=False),
            ),
            # The card-expiring notice reads the cards expiring in the next two months.
            models.Index(
                fields=["card_expires_on", "id"],
                name="sub_card_expires",
                condition=models.Q(status__in=["ACTIVE", "DELAYED"], card_expires_on__isnull=False),
            ),
            models.Index(
                fields=["created_at", "id"],
                name="sub_started",
                condition=models.Q(status="STARTED"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.uuid} ({self.status})"

    @property
    def is_cancelled(self) -> bool:
        return self.status in CANCELLED_STATUSES


class Charge(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        DECLINED = "declined", _("Declined")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")
        CHARGEBACK = "chargeback", _("Chargeback")

    class Kind(models.TextChoices):
        FIRST = "first", _("First")
        RENEWAL = "renewal", _("Renewal")
        RETRY = "retry", _("Retry")
        REACTIVATION = "reactivation", _("Reactivation")
        PLAN_CHANGE = "plan_change", _("Plan change")

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="charges", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("subscription"),
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    period_start = models.DateField(verbose_name=_("period start"))
    period_end = models.DateField(verbose_name=_("period end"))
    attempt = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempt"))
    # Derived from (subscription, period, attempt): a job that runs twice never charges twice.
    idempotency_key = models.CharField(
        max_length=200, unique=True, verbose_name=_("idempotency key")
    )
    gateway = models.CharField(max_length=20, verbose_name=_("gateway"))
    gateway_reference = models.CharField(
        max_length=200, blank=True, db_index=True, verbose_name=_("gateway reference")
    )
    failure_message = models.CharField(
        max_length=500, blank=True, verbose_name=_("failure message")
    )
    # The coupon that discounted this charge, and by how much (`amount` is after it).
    coupon = models.ForeignKey(
        Coupon,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="charges",
        verbose_name=_("coupon"),
    )
    discount = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, verbose_name=_("discount")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscription", "created_at"], name="charge_sub_created")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.status} ({self.kind})"


class SubscriptionEvent(models.Model):
    """Append-only history and transactional outbox (SPEC §4.5).

    Written in the same transaction as the change it records; handed to Celery after
    commit; re-published by the sweeper until `processed_at` is set.
    """

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="events", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("id"))
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("subscription"),
    )
    type = models.CharField(
        max_length=40, choices=EventType.choices, db_index=True, verbose_name=_("type")
    )
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    occurred_at = models.DateTimeField(db_index=True, verbose_name=_("occurred at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    publish_attempts = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("publish attempts")
    )
    # Set when processing kept failing OUTBOX_MAX_ATTEMPTS times; the sweeper stops then.
    failed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("failed at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription events")
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["subscription", "occurred_at"], name="event_sub_occurred"),
            models.Index(fields=["creator", "type", "occurred_at"], name="event_creator_type"),
            models.Index(
                fields=["occurred_at"],
                name="event_unprocessed",
                condition=models.Q(processed_at__isnull=True, failed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class StripeWebhookEvent(models.Model):
    """A Stripe webhook event already applied, so a redelivery changes nothing.

    Stripe delivers at least once and retries for days; the (creator, event id) pair is
    unique, and the row is written in the same transaction as the change the event made.
    """

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="stripe_events", verbose_name=_("creator")
    )
    stripe_event_id = models.CharField(max_length=100, verbose_name=_("stripe event id"))
    type = models.CharField(max_length=100, verbose_name=_("type"))
    # What we did with it: "applied", "ignored", "unknown_charge", "already_applied", …
    outcome = models.CharField(max_length=40, blank=True, verbose_name=_("outcome"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("Stripe webhook event")
        verbose_name_plural = _("Stripe webhook events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "stripe_event_id"], name="stripe_event_unique_per_creator"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_event_id} ({self.type})"
