"""Support admin for tenants and people (SPEC §12). Secrets never appear: gateway
credentials are not a field here, API keys show only their prefix."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiKey, Creator, Membership, User
from accounts.services import api_key_revoke


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    raw_id_fields = ("user", "creator")
    fields = ("user", "creator", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "=uuid")
    show_full_result_count = False
    readonly_fields = ("uuid", "last_login", "date_joined")
    inlines = (MembershipInline,)
    fieldsets = (
        (None, {"fields": ("email", "uuid", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug", "time_zone", "locale", "currency", "gateway", "created_at")
    list_filter = ("gateway", "locale", "currency")
    search_fields = ("name", "slug", "=uuid")
    show_full_result_count = False
    # gateway_credentials is deliberately absent: secrets are never shown or edited here.
    fields = (
        "uuid",
        "name",
        "slug",
        "time_zone",
        "locale",
        "currency",
        "retry_schedule",
        "gateway",
        "created_at",
    )
    readonly_fields = ("uuid", "created_at")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "creator", "role", "created_at")
    list_select_related = ("user", "creator")
    list_filter = ("role", "creator")
    search_fields = ("user__email", "creator__slug")
    raw_id_fields = ("user", "creator")
    show_full_result_count = False


@admin.action(description=_("Revoke selected API keys"))
def revoke_api_keys(modeladmin: Any, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
    revoked = 0
    for key in queryset.filter(revoked_at__isnull=True):
        api_key_revoke(api_key=key)
        revoked += 1
    modeladmin.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("prefix", "name", "creator", "role", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("creator",)
    list_filter = ("role", "creator")
    search_fields = ("prefix", "=uuid", "creator__slug")
    raw_id_fields = ("creator", "created_by")
    show_full_result_count = False
    # key_hash is not shown: the key itself was shown once, at creation.
    fields = (
        "uuid",
        "prefix",
        "name",
        "creator",
        "role",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = (revoke_api_keys,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are issued by the creator (shown once), not by support
