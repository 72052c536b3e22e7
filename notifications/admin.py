"""Support's view of integrations (SPEC §12). Credentials are never shown; actions go
through the same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from notifications import services
from notifications.models import Integration


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

    @admin.action(description=_("Revalidate credentials with the provider"))
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
