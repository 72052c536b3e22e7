"""Support's view of integrations and webhooks (SPEC §12). Credentials and webhook
secrets are never shown; actions go through the same services as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.errors import DomainError
from notifications import services
from notifications.models import Integration, WebhookDelivery, WebhookEndpoint
from notifications.webhooks import services as webhooks


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "creator", "status", "last_checked_at", "created_at"]
    list_filter = ["provider", "status", "created_at"]
    search_fields = ["name", "uuid", "creator__name", "creator__slug"]
    list_select_related = ["creator"]
    raw_id_fields = ["creator"]
    show_full_result_count = False
    # `credentials` is left out of every form and list: write-only, via the creator's API.
    fields = [
        "creator",
        "uuid",
        "provider",
        "name",
        "status",
        "last_error",
        "last_checked_at",
        "new_contact_status",
    ]
    # The status of new contacts is the creator's consent decision: shown, not changed here.
    readonly_fields = [
        "creator",
        "uuid",
        "provider",
        "status",
        "last_error",
        "last_checked_at",
        "new_contact_status",
    ]
    actions = ["revalidate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # connecting needs the creator's credentials: dashboard or API

    @admin.action(description="Revalidate credentials with the provider")
    def revalidate(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        connected = 0
        for integration in queryset:
            result = services.integration_validate(integration=integration)
            if result.status == Integration.Status.CONNECTED:
                connected += 1
            else:
                self.message_user(
                    request, f"{integration}: {result.last_error}", level=messages.WARNING
                )
        self.message_user(request, f"{connected} of {len(queryset)} connected.")


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

    @admin.action(description="Replay now (a new attempt)", permissions=["view"])
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
