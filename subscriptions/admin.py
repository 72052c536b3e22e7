"""Support admin for subscriptions (SPEC §12): find anything across tenants, act only
through the services, stay fast on millions of rows (no full COUNT(*), joins loaded
with the list, raw id widgets instead of giant dropdowns)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.actors import Actor
from core.admin import EstimatedCountPaginator, ReadOnlyAdminMixin, reason_action
from subscriptions.admin_labels import SUBSCRIPTION_LABEL_RELATED, subscription_label
from subscriptions.charges import charge_chargeback, charge_refund
from subscriptions.events import EventType
from subscriptions.models import (
    Charge,
    Coupon,
    Plan,
    Product,
    RecoveryPolicy,
    Subscriber,
    Subscription,
    SubscriptionEvent,
)
from subscriptions.services import subscription_cancel


def _as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term.strip())
    except ValueError:
        return None


# Shorter terms have no trigram to look up: they match a whole email only.
PARTIAL_SEARCH_MIN_LENGTH = 3


class ExactSearchMixin:
    """Search by an id (uuid, exact), an email (case-insensitive) or, on admins that
    reach a subscriber, part of the subscriber's email or name ("carla.rocha"). Each is
    answered by an index (the partial one by the trigram indexes of migration
    subscriptions 0005), unlike the default `icontains` over several joined columns."""

    uuid_lookups: tuple[str, ...] = ("uuid",)
    email_lookup: str = ""
    # Path from this admin's model to its Subscriber ("" for Subscriber itself); None
    # when the model has none.
    subscriber_path: str | None = None

    def uuid_condition(self, value: uuid.UUID) -> Q:
        condition = Q()
        for lookup in self.uuid_lookups:
            condition |= Q(**{lookup: value})
        return condition

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        as_uuid = _as_uuid(term)
        if as_uuid is not None:
            return queryset.filter(self.uuid_condition(as_uuid)), False
        if self.subscriber_path is not None:
            condition = subscriber_search_condition(term)
            if self.subscriber_path == "":
                return queryset.filter(condition), False
            subscribers = Subscriber.objects.filter(condition)
            return queryset.filter(**{f"{self.subscriber_path}__in": subscribers}), False
        if self.email_lookup:
            return queryset.filter(**{f"{self.email_lookup}__iexact": term}), False
        return queryset.none(), False


def subscriber_search_condition(term: str) -> Q:
    """Subscribers whose email or name contains `term` (case-insensitive)."""
    if len(term) < PARTIAL_SEARCH_MIN_LENGTH:
        return Q(email__iexact=term)
    return Q(email__icontains=term) | Q(name__icontains=term)


class BigTableAdmin(ExactSearchMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Shows the search box (and allows autocomplete); get_search_results decides.
    search_fields = ("=uuid",)
    list_per_page = 50
    search_help_text = _("An id (uuid), an email address, or part of an email or name.")


class EventTypeFilter(admin.SimpleListFilter):
    """The known event types, without a DISTINCT over the whole events table."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, f"{label} ({value})") for value, label in EventType.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(type=self.value()) if self.value() else queryset


class EventStateFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "processing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("processed", "Processed"), ("waiting", "Waiting"), ("failed", "Failed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "processed":
            return queryset.filter(processed_at__isnull=False)
        if value == "waiting":
            return queryset.filter(processed_at__isnull=True, failed_at__isnull=True)
        if value == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


class SubscriptionEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SubscriptionEvent
    fields = ("occurred_at", "type", "data", "processed_at", "failed_at", "last_error")
    readonly_fields = fields
    ordering = ("occurred_at", "id")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChargeInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Charge
    fields = (
        "created_at",
        "kind",
        "attempt",
        "amount",
        "currency",
        "status",
        "period_start",
        "period_end",
        "gateway_reference",
        "failure_message",
    )
    readonly_fields = fields
    ordering = ("created_at", "id")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _cancel_as_support(subscription: Subscription, reason: str, actor: Actor) -> None:
    subscription_cancel(subscription=subscription, actor=actor, reason=reason)


def _refund(charge: Charge, reason: str, actor: Actor) -> None:
    charge_refund(charge=charge, reason=reason, actor=actor)


def _chargeback(charge: Charge, reason: str, actor: Actor) -> None:
    charge_chargeback(charge=charge, reason=reason, actor=actor)


@admin.register(Subscription)
class SubscriptionAdmin(BigTableAdmin):
    list_display = (
        "uuid",
        "subscriber_email",
        "creator",
        "plan",
        "status",
        "next_charge_date",
        "paid_through",
        "cancellation_source",
        "created_at",
    )
    list_select_related = ("subscriber", "creator", "plan__product")
    list_filter = (
        "status",
        "cancellation_source",
        "creator",
        "created_at",
        "next_charge_date",
        "cancelled_at",
    )
    uuid_lookups = ("uuid", "subscriber__uuid")
    subscriber_path = "subscriber"
    search_help_text = _(
        "A subscription, subscriber or charge id (uuid), or all or part of the "
        "subscriber's email or name (at least 3 characters)."
    )
    raw_id_fields = ("creator", "subscriber", "plan")
    inlines = (ChargeInline, SubscriptionEventInline)
    actions = (
        reason_action(
            name="cancelled_as_support",
            description=_("Cancel as support"),
            verb=_("Cancelled as support"),
            apply=_cancel_as_support,
        ),
    )
    # Every change goes through a service: the page shows, the actions act.
    readonly_fields = tuple(f.name for f in Subscription._meta.concrete_fields if f.name != "id")
    confirmation_related = SUBSCRIPTION_LABEL_RELATED

    def confirmation_label(self, obj: Subscription) -> str:
        return f"{subscription_label(obj)} · {obj.uuid}"

    def uuid_condition(self, value: uuid.UUID) -> Q:
        by_charge = Charge.objects.filter(uuid=value).values("subscription_id")
        return super().uuid_condition(value) | Q(pk__in=by_charge)

    @admin.display(description=_("subscriber"), ordering="subscriber__email")
    def subscriber_email(self, obj: Subscription) -> str:
        return obj.subscriber.email

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Charge)
class ChargeAdmin(BigTableAdmin):
    list_display = (
        "uuid",
        "subscription",
        "creator",
        "kind",
        "amount",
        "currency",
        "status",
        "period_start",
        "created_at",
    )
    list_select_related = ("subscription", "creator")
    list_filter = ("status", "kind", "creator", "created_at")
    uuid_lookups = ("uuid", "subscription__uuid")
    subscriber_path = "subscription__subscriber"
    search_help_text = _(
        "A charge or subscription id (uuid), or all or part of the subscriber's email or "
        "name (at least 3 characters)."
    )
    raw_id_fields = ("creator", "subscription")
    readonly_fields = tuple(f.name for f in Charge._meta.concrete_fields if f.name != "id")
    confirmation_related = tuple(f"subscription__{r}" for r in SUBSCRIPTION_LABEL_RELATED)

    def confirmation_label(self, obj: Charge) -> str:
        charge = _("%(kind)s charge of %(amount)s %(currency)s, %(status)s") % {
            "kind": obj.get_kind_display(),
            "amount": obj.amount,
            "currency": obj.currency,
            "status": obj.get_status_display(),
        }
        return f"{charge} · {subscription_label(obj.subscription)} · {obj.uuid}"

    actions = (
        reason_action(
            name="refunded", description=_("Refund charge"), verb=_("Refunded"), apply=_refund
        ),
        reason_action(
            name="chargeback_recorded",
            description=_("Record chargeback"),
            verb=_("Chargeback recorded"),
            apply=_chargeback,
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SubscriptionEvent)
class SubscriptionEventAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("occurred_at", "type", "subscription", "creator", "processed_at", "failed_at")
    list_select_related = ("subscription", "creator")
    list_filter = (EventTypeFilter, EventStateFilter, "creator", "occurred_at")
    uuid_lookups = ("uuid", "subscription__uuid")
    subscriber_path = "subscription__subscriber"
    raw_id_fields = ("creator", "subscription")
    ordering = ("-occurred_at", "-id")


@admin.register(Subscriber)
class SubscriberAdmin(BigTableAdmin):
    list_display = ("email", "name", "creator", "locale", "created_at")
    list_select_related = ("creator",)
    list_filter = ("locale", "creator", "created_at")
    subscriber_path = ""
    raw_id_fields = ("creator",)
    readonly_fields = ("uuid", "created_at")


@admin.register(Product)
class ProductAdmin(BigTableAdmin):
    list_display = ("name", "creator", "is_active", "created_at")
    list_select_related = ("creator",)
    list_filter = ("is_active", "creator")
    raw_id_fields = ("creator",)
    readonly_fields = ("uuid", "created_at")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if search_term.strip() and _as_uuid(search_term) is None:
            return queryset.filter(name__icontains=search_term.strip()), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Plan)
class PlanAdmin(ProductAdmin):  # type: ignore[misc]
    list_display = (
        "name",
        "product",
        "creator",
        "price",
        "currency",
        "period",
        "max_cycles",
        "trial_days",
    )  # type: ignore[assignment]
    list_select_related = ("product", "creator")  # type: ignore[assignment]
    list_filter = ("period", "is_active", "creator")  # type: ignore[assignment]
    raw_id_fields = ("creator", "product")  # type: ignore[assignment]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Coupons are created through the API and the dashboard; here support reads them
    and can switch one off (`is_active`)."""

    list_display = (
        "code",
        "creator",
        "kind",
        "duration",
        "redemptions",
        "max_redemptions",
        "is_active",
    )
    list_select_related = ("creator",)
    list_filter = ("kind", "duration", "is_active", "creator")
    search_fields = ("code",)
    raw_id_fields = ("creator", "plans")
    readonly_fields = ("uuid", "redemptions", "created_at")


@admin.register(RecoveryPolicy)
class RecoveryPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("product", "creator", "retry_schedule", "final_action", "updated_at")
    list_select_related = ("product", "creator")
    list_filter = ("final_action", "send_payment_failed_email")
    raw_id_fields = ("creator", "product")
    search_fields = ("=product__uuid", "product__name")
    show_full_result_count = False
