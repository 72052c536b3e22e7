"""Support admin for subscriptions (SPEC §12): find anything across tenants, act only
through the services, stay fast on millions of rows (no full COUNT(*), joins loaded
with the list, raw id widgets instead of giant dropdowns)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from core.actors import Actor
from core.admin import EstimatedCountPaginator, ReadOnlyAdminMixin, reason_action
from subscriptions.charges import charge_chargeback, charge_refund
from subscriptions.events import EventType
from subscriptions.models import (
    Charge,
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


class ExactSearchMixin:
    """Search by an id (uuid, exact) or an email (case-insensitive, exact or prefix):
    both use an index, unlike the default `icontains` over several joined columns."""

    uuid_lookups: tuple[str, ...] = ("uuid",)
    email_lookup: str = ""

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
        if self.email_lookup:
            return queryset.filter(**{f"{self.email_lookup}__iexact": term}), False
        return queryset.none(), False


class BigTableAdmin(ExactSearchMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Shows the search box (and allows autocomplete); get_search_results decides.
    search_fields = ("=uuid",)
    list_per_page = 50
    search_help_text = "An id (uuid) or an email address."


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
    email_lookup = "subscriber__email"
    search_help_text = "A subscription, subscriber or charge id (uuid), or an email address."
    raw_id_fields = ("creator", "subscriber", "plan")
    inlines = (ChargeInline, SubscriptionEventInline)
    actions = (
        reason_action(
            description="Cancel as support",
            verb="Cancelled as support",
            apply=_cancel_as_support,
        ),
    )
    # Every change goes through a service: the page shows, the actions act.
    readonly_fields = tuple(f.name for f in Subscription._meta.concrete_fields if f.name != "id")

    def uuid_condition(self, value: uuid.UUID) -> Q:
        by_charge = Charge.objects.filter(uuid=value).values("subscription_id")
        return super().uuid_condition(value) | Q(pk__in=by_charge)

    @admin.display(description="subscriber", ordering="subscriber__email")
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
    email_lookup = "subscription__subscriber__email"
    search_help_text = "A charge or subscription id (uuid), or the subscriber's email."
    raw_id_fields = ("creator", "subscription")
    readonly_fields = tuple(f.name for f in Charge._meta.concrete_fields if f.name != "id")
    actions = (
        reason_action(description="Refund charge", verb="Refunded", apply=_refund),
        reason_action(
            description="Record chargeback", verb="Chargeback recorded", apply=_chargeback
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
    email_lookup = "subscription__subscriber__email"
    raw_id_fields = ("creator", "subscription")
    ordering = ("-occurred_at", "-id")


@admin.register(Subscriber)
class SubscriberAdmin(BigTableAdmin):
    list_display = ("email", "name", "creator", "locale", "created_at")
    list_select_related = ("creator",)
    list_filter = ("locale", "creator", "created_at")
    email_lookup = "email"
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
    list_display = ("name", "product", "creator", "price", "currency", "period", "max_cycles")  # type: ignore[assignment]
    list_select_related = ("product", "creator")  # type: ignore[assignment]
    list_filter = ("period", "is_active", "creator")  # type: ignore[assignment]
    raw_id_fields = ("creator", "product")  # type: ignore[assignment]


@admin.register(RecoveryPolicy)
class RecoveryPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("product", "creator", "retry_schedule", "final_action", "updated_at")
    list_select_related = ("product", "creator")
    list_filter = ("final_action", "send_payment_failed_email")
    raw_id_fields = ("creator", "product")
    search_fields = ("=product__uuid", "product__name")
    show_full_result_count = False
