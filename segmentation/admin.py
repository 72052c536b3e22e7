from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from segmentation.models import SegmentationDelivery, SegmentationRule


@admin.register(SegmentationRule)
class SegmentationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "creator", "product", "is_active", "status", "updated_at"]
    list_filter = ["is_active", "status", ("creator", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["creator", "product"]
    search_fields = ["name", "uuid", "creator__name", "creator__slug"]
    raw_id_fields = ["creator", "product", "created_by", "error_integration"]
    filter_horizontal = ["integrations"]
    readonly_fields = ["uuid", "trigger_keys", "created_at", "updated_at"]
    show_full_result_count = False


@admin.register(SegmentationDelivery)
class SegmentationDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The delivery log: read-only for support."""

    list_display = [
        "created_at",
        "creator",
        "rule",
        "action_type",
        "contact_email",
        "status",
        "attempts",
        "provider_status",
        "is_test",
    ]
    list_filter = [
        "status",
        "action_type",
        "is_test",
        ("creator", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["creator", "rule"]
    search_fields = ["contact_email", "uuid", "rule__uuid"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
