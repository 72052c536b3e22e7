"""Support's view of reactivation requests (SPEC §12). Actions call the same services
as the API; the token hash is never shown."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.actors import Actor
from core.errors import DomainError
from reactivation import services
from reactivation.models import Mode, ReactivationBatch, ReactivationRequest
from subscriptions.admin_labels import SUBSCRIPTION_LABEL_RELATED, subscription_label
from subscriptions.models import Subscription


def _staff(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _support(request: HttpRequest) -> Actor:
    return Actor.support(request.user)


@admin.register(ReactivationRequest)
class ReactivationRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["uuid", "creator", "subscriber_email", "mode", "status", "created_at"]
    list_filter = ["status", "mode", "creator", "created_at", "decided_at"]
    list_select_related = ["creator", "subscription__subscriber"]
    search_fields = ["=uuid", "=subscription__uuid", "subscription__subscriber__email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    raw_id_fields = ["subscription", "batch", "charge", "requested_by"]
    exclude = ["token_hash"]
    readonly_fields = [
        "uuid",
        "creator",
        "subscription",
        "mode",
        "requested_by",
        "requested_by_label",
        "created_at",
        "expires_at",
        "status",
        "decided_at",
        "emailed_at",
        "batch",
        "failure_message",
        "charge",
    ]
    actions = ["resend", "revoke"]

    @admin.display(description=_("subscriber"), ordering="subscription__subscriber__email")
    def subscriber_email(self, obj: ReactivationRequest) -> str:
        return obj.subscription.subscriber.email

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Resend the email (a new link; the old one stops working)"))
    def resend(self, request: HttpRequest, queryset: QuerySet[ReactivationRequest]) -> None:
        done = 0
        for item in queryset.select_related("subscription"):
            try:
                services.reactivation_request_resend(
                    reactivation_request=item, actor=_support(request), requested_by=_staff(request)
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{item.uuid}: {exc.message}", messages.WARNING)
        self.message_user(
            request, _("%(count)d request(s) resent.") % {"count": done}, messages.SUCCESS
        )

    @admin.action(description=_("Revoke (the link stops working)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ReactivationRequest]) -> None:
        done = sum(
            services.reactivation_request_revoke(reactivation_request=item, actor=_support(request))
            for item in queryset.filter(status=ReactivationRequest.Status.PENDING)
        )
        self.message_user(
            request, _("%(count)d pending request(s) revoked.") % {"count": done}, messages.SUCCESS
        )


@admin.register(ReactivationBatch)
class ReactivationBatchAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["uuid", "creator", "mode", "created_count", "refused_count", "status"]
    list_filter = ["status", "mode", "created_at"]
    list_select_related = ["creator"]
    search_fields = ["=uuid"]
    readonly_fields = [f.name for f in ReactivationBatch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.action(description=_("Send a reactivation request (choose the mode)"))
def send_reactivation_request(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Subscription],
) -> HttpResponse | None:
    """On a creator's behalf, also for CANCELLED_BY_ADMIN subscriptions (SPEC §12).

    The first POST shows a page to pick the mode; the second sends, per creator in bulk.
    """
    mode = request.POST.get("mode")
    if mode not in Mode.values:
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": _("Send a reactivation request"),
            "subscriptions": [
                subscription_label(s)
                for s in queryset.select_related(*SUBSCRIPTION_LABEL_RELATED)[:50]
            ],
            "count": queryset.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "modes": Mode.choices,
            "opts": modeladmin.model._meta,
            "action": "send_reactivation_request",
        }
        return TemplateResponse(request, "reactivation/admin/send_request.html", context)
    by_creator: dict[Any, list[int]] = defaultdict(list)
    creators = {}
    for pk, creator in ((s.pk, s.creator) for s in queryset.select_related("creator")):
        by_creator[creator.pk].append(pk)
        creators[creator.pk] = creator
    created = 0
    for creator_pk, pks in by_creator.items():
        result = services.reactivation_requests_create_bulk(
            creator=creators[creator_pk],
            subscriptions=Subscription.objects.filter(pk__in=pks),
            mode=mode,
            actor=_support(request),
            requested_by=_staff(request),
        )
        created += len(result.created)
        for failure in result.failed[:20]:
            modeladmin.message_user(
                request, f"{failure['subscription']}: {failure['message']}", messages.WARNING
            )
    modeladmin.message_user(
        request, _("%(count)d reactivation request(s) sent.") % {"count": created}, messages.SUCCESS
    )
    return None


def _add_subscription_action() -> None:
    """Offer the action on the Subscription admin, whoever registers it.

    `subscriptions` knows nothing of this app, so the action is attached from here; if no
    Subscription admin exists yet, a minimal one is registered.
    """
    if Subscription not in admin.site._registry:

        @admin.register(Subscription)
        class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
            list_display = ["uuid", "creator", "subscriber", "status", "next_charge_date"]
            list_filter = ["status", "cancellation_source", "creator"]
            list_select_related = ["creator", "subscriber"]
            search_fields = ["=uuid", "subscriber__email"]
            raw_id_fields = ["subscriber", "plan"]
            show_full_result_count = False

    model_admin = admin.site._registry[Subscription]
    existing = list(model_admin.actions or [])
    if send_reactivation_request not in existing:
        model_admin.actions = [*existing, send_reactivation_request]


_add_subscription_action()
