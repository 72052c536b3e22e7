from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from segmentation.models import SegmentationDelivery, SegmentationRule
from segmentation.services import rule_create, rule_update
from segmentation.validation import RuleInvalid, rule_clean

RULE_FIELDS = ("name", "product", "triggers", "match", "conditions", "actions", "is_active")


class SegmentationRuleAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """Checks the rule exactly as the API and the dashboard do (`rule_clean`, against the
    rule's creator's own products, plans and integrations) and keeps the body for the
    service that saves it."""

    class Meta:
        model = SegmentationRule
        fields = ("creator", *RULE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        creator = cleaned.get("creator") or getattr(self.instance, "creator", None)
        if self.errors or creator is None:
            return cleaned
        product = cleaned.get("product")
        self.rule_body = {name: cleaned.get(name) for name in RULE_FIELDS}
        self.rule_body["product"] = str(product.uuid) if product else None
        try:
            rule_clean(creator=creator, data=self.rule_body)
        except RuleInvalid as exc:
            raise ValidationError(
                [
                    f"{row}: {message}"
                    for row, messages in exc.errors.items()
                    for message in messages
                ]
            ) from None
        return cleaned


@admin.register(SegmentationRule)
class SegmentationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = SegmentationRuleAdminForm
    list_display = ["name", "creator", "product", "is_active", "status", "updated_at"]
    list_filter = ["is_active", "status", ("creator", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["creator", "product"]
    search_fields = ["name", "uuid", "creator__name", "creator__slug"]
    raw_id_fields = ["creator", "product"]
    # The integrations follow from the actions (the service sets them): shown, not chosen,
    # so no list of every tenant's integrations is offered.
    readonly_fields = [
        "uuid",
        "integrations_used",
        "trigger_keys",
        "status",
        "last_error",
        "error_integration",
        "created_by",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A rule stays with the creator it was made for.
        return [*self.readonly_fields, "creator"] if obj is not None else self.readonly_fields

    @admin.display(description=_("integrations"))
    def integrations_used(self, obj: SegmentationRule) -> str:
        return ", ".join(i.name for i in obj.integrations.all()) or "—"

    def save_model(
        self, request: HttpRequest, obj: SegmentationRule, form: Any, change: bool
    ) -> None:
        # Through the same services as the API and the dashboard.
        if change:
            saved = rule_update(rule=SegmentationRule.objects.get(pk=obj.pk), data=form.rule_body)
        else:
            saved = rule_create(creator=obj.creator, data=form.rule_body)
        obj.pk, obj.uuid = saved.pk, saved.uuid

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


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
