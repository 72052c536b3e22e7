"""Pieces the support admin shares across apps: a paginator that never counts a huge
table, and admin actions that ask for a reason before calling a service."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.actors import Actor
from core.errors import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Below this many rows an exact COUNT(*) is cheap and an estimate would look odd.
ESTIMATE_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    """Unfiltered changelists of big PostgreSQL tables use the planner's row estimate
    (`pg_class.reltuples`) instead of `COUNT(*)`, which reads the whole table."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet) and not object_list.query.where:
            estimate = _table_estimate(object_list)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                return estimate
        return super().count


def _table_estimate(queryset: QuerySet[Any]) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text=_("Recorded on the event history and shown to the creator."),
    )


def reason_action(
    *,
    name: str,
    description: StrOrPromise,
    verb: StrOrPromise,
    apply: Callable[[Any, str, Actor], None],
) -> Callable[[admin.ModelAdmin[Any], HttpRequest, QuerySet[Any]], HttpResponse | None]:
    """An admin action that first shows a page asking for a reason, then calls
    `apply(obj, reason, actor)` (a service) for each selected row. A refusal by the
    service (409/422) is shown as a message for that row; the others still run.

    The confirmation page lists the rows with the admin's `confirmation_label(obj)` (its
    relations loaded through `confirmation_related`), not only their ids."""

    def action(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        describe = getattr(modeladmin, "confirmation_label", str)
        related = getattr(modeladmin, "confirmation_related", ())
        if "apply" in request.POST and form.is_valid():
            done = 0
            actor = Actor.support(request.user)
            for obj in queryset.select_related(*related):
                try:
                    apply(obj, form.cleaned_data["reason"], actor)
                    done += 1
                except DomainError as exc:
                    modeladmin.message_user(
                        request, f"{describe(obj)}: {exc.message}", messages.ERROR
                    )
            if done:
                modeladmin.message_user(request, f"{verb}: {done}.", messages.SUCCESS)
            return None
        opts = modeladmin.model._meta
        return TemplateResponse(
            request,
            "admin/reason_action.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "verb": verb,
                "form": form,
                "objects": [describe(obj) for obj in queryset.select_related(*related)[:100]],
                "count": queryset.count(),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "action": request.POST.get("action", ""),
                "select_across": request.POST.get("select_across", "0"),
                "opts": opts,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    action.short_description = description  # type: ignore[attr-defined]
    action.__name__ = name
    return action


class ReadOnlyAdminMixin:
    """History and logs: visible to support, changed only by the services."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
