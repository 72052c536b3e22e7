"""Support's view of payment links (SPEC §12): read-only; the token hash is never shown."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from recovery.models import PaymentLink


@admin.register(PaymentLink)
class PaymentLinkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "uuid",
        "creator",
        "subscriber_email",
        "period_start",
        "amount",
        "currency",
        "attempt",
        "emailed_at",
        "expires_at",
    ]
    list_filter = ["creator", "created_at"]
    list_select_related = ["creator", "subscription__subscriber"]
    search_fields = ["=uuid", "=subscription__uuid", "subscription__subscriber__email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["token_hash"]
    readonly_fields = [
        "uuid",
        "creator",
        "subscription",
        "event",
        "period_start",
        "amount",
        "currency",
        "attempt",
        "created_at",
        "expires_at",
        "emailed_at",
    ]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    @admin.display(description=_("subscriber"), ordering="subscription__subscriber__email")
    def subscriber_email(self, obj: PaymentLink) -> str:
        return obj.subscription.subscriber.email
