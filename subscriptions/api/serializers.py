"""API shapes (SPEC §10). Output of a subscription comes from `subscription_as_api`, the
one shape shared with webhooks; the fields below document it for the schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.currencies import is_active_currency
from accounts.models import Creator
from core.api.fields import StrictCharField
from subscriptions.models import (
    CancellationSource,
    Charge,
    Coupon,
    Period,
    Plan,
    Product,
    Status,
    SubscriptionEvent,
)
from subscriptions.pause_rules import MAX_PAUSE_PERIODS, PauseWhen, ResumeHow
from subscriptions.presenters import subscription_as_api
from subscriptions.trials import MAX_TRIAL_DAYS

# Large enough for any real plan, small enough for PostgreSQL's integer column.
MAX_CYCLES_LIMIT = 10_000


class ProductSerializer(serializers.ModelSerializer[Product]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = StrictCharField(max_length=200)

    class Meta:
        model = Product
        fields = ["id", "name", "is_active", "created_at"]
        read_only_fields = ["is_active", "created_at"]


class PlanSerializer(serializers.ModelSerializer[Plan]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    # A product of the caller's creator, by id; the view resolves it inside the tenant.
    product = serializers.UUIDField(source="product.uuid")
    name = StrictCharField(max_length=200)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, coerce_to_string=True
    )
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        help_text="ISO 4217 code, e.g. BRL.",
        error_messages={"invalid": "Use a three-letter ISO 4217 code."},
    )
    period = serializers.ChoiceField(choices=Period.choices)
    max_cycles = serializers.IntegerField(
        min_value=1, max_value=MAX_CYCLES_LIMIT, allow_null=True, required=False, default=None
    )
    trial_days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_TRIAL_DAYS,
        required=False,
        default=0,
        help_text="Free days before the first charge, once per subscriber and product (0: none).",
    )
    trial_requires_card = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Whether a sale with a trial needs a payment method.",
    )

    def validate_currency(self, value: str) -> str:
        if not is_active_currency(value):
            raise serializers.ValidationError(
                "Use the ISO 4217 code of a currency in use today, e.g. BRL."
            )
        return value.upper()

    class Meta:
        model = Plan
        fields = [
            "id",
            "product",
            "name",
            "price",
            "currency",
            "period",
            "max_cycles",
            "trial_days",
            "trial_requires_card",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["is_active", "created_at"]


class SubscriberInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    name = StrictCharField(max_length=200, allow_blank=True, required=False)
    locale = serializers.ChoiceField(
        choices=Creator.Locale.choices, required=False, help_text="Defaults to the creator's."
    )
    gateway_customer_id = StrictCharField(
        max_length=100,
        allow_blank=True,
        required=False,
        help_text="The gateway's customer (Stripe `cus_…`); not needed for the sandbox.",
    )


class SubscriptionCreateSerializer(serializers.Serializer[Any]):
    plan = serializers.UUIDField()
    subscriber = SubscriberInputSerializer()
    payment_method = StrictCharField(
        max_length=200,
        allow_blank=True,
        help_text=(
            "The gateway's saved method. Empty only for a plan whose free trial does not "
            "need a card (400 otherwise; 422 when the subscriber already had its trial)."
        ),
    )
    started_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="In the past: an import (nothing is charged). Omitted: a new sale now.",
    )
    coupon = StrictCharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="A coupon code: discounts from the first period charged.",
    )


class SubscriberOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField(allow_blank=True)
    locale = serializers.CharField()


class CancellationSerializer(serializers.Serializer[Any]):
    source = serializers.ChoiceField(choices=CancellationSource.choices)  # type: ignore[assignment]
    reason = serializers.CharField(allow_blank=True)


class SubscriptionSerializer(serializers.Serializer[Any]):
    """Read-only; the representation is `subscription_as_api` (needs plan__product and
    subscriber select_related)."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Status.choices)
    product = serializers.UUIDField()
    plan = serializers.UUIDField()
    subscriber = SubscriberOutputSerializer()
    started_at = serializers.DateTimeField()
    billing_anchor = serializers.DateField()
    next_charge_date = serializers.DateField(allow_null=True)
    paid_through = serializers.DateField(allow_null=True)
    recurrence = serializers.IntegerField()
    unpaid_recurrences = serializers.IntegerField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancellation = CancellationSerializer(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return subscription_as_api(instance)


class CancelSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=2000, allow_blank=True, required=False, default="")


class EventSerializer(serializers.ModelSerializer[SubscriptionEvent]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    data = serializers.JSONField(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = SubscriptionEvent
        fields = ["id", "type", "occurred_at", "data"]
        read_only_fields = fields


class ChargeSerializer(serializers.ModelSerializer[Charge]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = Charge
        fields = [
            "id",
            "amount",
            "currency",
            "status",
            "kind",
            "period_start",
            "period_end",
            "created_at",
        ]
        read_only_fields = fields


class PlanChangeRequestSerializer(serializers.Serializer[Any]):
    plan = serializers.UUIDField(help_text="The plan to switch to: same product and currency.")
    coupon = StrictCharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="A coupon code for the new plan: discounts from the next renewal.",
    )


class ProrationSerializer(serializers.Serializer[Any]):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    days_left = serializers.IntegerField()
    days_in_period = serializers.IntegerField()
    credit = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    charge = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    amount_due = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


class PlanChangeSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=["upgrade_now", "at_renewal"],
        help_text="`upgrade_now`: switched and charged now; `at_renewal`: from the next renewal.",
    )
    effective_on = serializers.DateField(allow_null=True)
    scheduled_plan = serializers.UUIDField(
        allow_null=True, help_text="The plan taking effect at the next renewal, if any."
    )
    cancelled = serializers.BooleanField(help_text="A scheduled switch was called off.")
    proration = ProrationSerializer(allow_null=True)
    charge = ChargeSerializer(allow_null=True, help_text="The charge of an upgrade now.")


class PlanChangeResultSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer()
    change = PlanChangeSerializer()


class PauseRequestSerializer(serializers.Serializer[Any]):
    when = serializers.ChoiceField(
        choices=PauseWhen.choices,
        default=PauseWhen.NOW,
        help_text="`now`, or `period_end`: stays active until the next due date.",
    )
    periods = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_PAUSE_PERIODS,
        help_text="Skip this many renewals, then resume on the anchor's due date.",
    )
    until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Resume on this date instead. Neither: paused until someone resumes it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("periods") is not None and attrs.get("until") is not None:
            raise serializers.ValidationError(
                {"until": ["Give either periods or until, not both."]}
            )
        return attrs


class PauseSerializer(serializers.Serializer[Any]):
    when = serializers.ChoiceField(choices=PauseWhen.choices)
    starts_on = serializers.DateField(help_text="Today, or the next due date (`period_end`).")
    resumes_on = serializers.DateField(allow_null=True, help_text="Null: open-ended.")
    access_until = serializers.DateField(
        help_text="Access ends on this date under the product's pause rule (exclusive)."
    )


class PauseResultSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer()
    pause = PauseSerializer()


class ResumeRequestSerializer(serializers.Serializer[Any]):
    how = serializers.ChoiceField(
        choices=ResumeHow.choices,
        default=ResumeHow.NEW_PERIOD,
        help_text=(
            "After the paid period: `new_period` charges the period starting today now; "
            "`continue` charges nothing and the next charge is one period after today."
        ),
    )


class ResumeSerializer(serializers.Serializer[Any]):
    how = serializers.ChoiceField(
        choices=["same_cycle", "new_period", "continue", "pause_called_off"],
        help_text="What applied: `same_cycle` (paid period not over, nothing charged), "
        "`new_period`, `continue`, or `pause_called_off` (a pause waiting for the period "
        "end was called off).",
    )
    next_charge_date = serializers.DateField(allow_null=True)
    charge = ChargeSerializer(
        allow_null=True, help_text="The new period's charge (`new_period`); see its status."
    )


class ResumeResultSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer()
    resume = ResumeSerializer()


class BillingDayRequestSerializer(serializers.Serializer[Any]):
    day = serializers.IntegerField(
        min_value=1, max_value=28, help_text="The day of the month the subscription renews on."
    )


class BillingDaySerializer(serializers.Serializer[Any]):
    next_charge_date = serializers.DateField()
    days = serializers.IntegerField(
        help_text="Days the due date moved: positive later, negative earlier."
    )
    adjustment = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        coerce_to_string=True,
        help_text="Added to (negative: taken off) the charge on `next_charge_date`.",
    )


class BillingDayResultSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer()
    billing_day = BillingDaySerializer()


class CouponSerializer(serializers.ModelSerializer[Coupon]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    code = serializers.RegexField(
        r"^[A-Za-z0-9_-]{1,40}$",
        help_text="Letters, digits, - and _; stored in capitals, matched in any case.",
    )
    kind = serializers.ChoiceField(choices=Coupon.Kind.choices)
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        coerce_to_string=True,
        write_only=True,
        help_text="The percent (0.01-100) or the amount off.",
    )
    percent_off = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=True, read_only=True, allow_null=True
    )
    amount_off = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=True, read_only=True, allow_null=True
    )
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default="",
        help_text="Of an amount off.",
    )  # fmt: skip
    duration = serializers.ChoiceField(choices=Coupon.Duration.choices)
    duration_periods = serializers.IntegerField(
        min_value=1, max_value=120, required=False, allow_null=True, default=None
    )
    max_redemptions = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    plans = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, write_only=True,
        help_text="Plan ids it is valid for; empty: every plan.",
    )  # fmt: skip
    valid_for = serializers.SerializerMethodField(
        help_text="The plan ids it is valid for; empty: every plan."
    )

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "kind",
            "value",
            "percent_off",
            "amount_off",
            "currency",
            "duration",
            "duration_periods",
            "max_redemptions",
            "redemptions",
            "expires_at",
            "plans",
            "valid_for",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["redemptions", "is_active", "created_at"]

    def get_valid_for(self, instance: Coupon) -> list[str]:
        return [str(p.uuid) for p in instance.plans.all()]
