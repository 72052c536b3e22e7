"""Support's view of webhook endpoints and deliveries (SPEC §12). Secrets are never
shown; the replay action goes through the same service as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "creator", "is_active", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["url", "uuid", "creator__name", "creator__slug"]
    list_select_related = ["creator"]
    raw_id_fields = ["creator"]
    show_full_result_count = False
    fields = [
        "creator",
        "uuid",
        "url",
        "events",
        "description",
        "is_active",
        "disabled_reason",
        "failing_since",
    ]
    readonly_fields = ["creator", "uuid", "url", "events", "disabled_reason", "failing_since"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the secret is generated and shown once, by the creator's API


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "uuid",
        "event_type",
        "endpoint",
        "creator",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "created_at"]
    search_fields = ["uuid", "endpoint__url", "endpoint__uuid", "creator__name"]
    list_select_related = ["endpoint", "creator"]
    show_full_result_count = False
    actions = ["replay"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Replay now (a new attempt)"), permissions=["view"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replayed = 0
        for delivery in queryset:
            try:
                webhooks.webhook_delivery_replay(delivery=delivery)
            except DomainError as exc:
                self.message_user(request, f"{delivery.uuid}: {exc.message}", messages.WARNING)
            else:
                replayed += 1
        self.message_user(request, f"{replayed} deliveries queued for a new attempt.")
