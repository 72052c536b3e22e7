"""Outbound webhooks: endpoints, their secret (shown once), deliveries, replay and test."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.egress import EXCERPT_CHARS
from core.errors import Conflict, DomainError
from dashboard.access import member_required, membership, require_write, tenant_object_get
from subscriptions.events import event_type_label
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    EVENT_TYPES,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_test_send,
)

DELIVERIES_PER_PAGE = 50


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("URL"), max_length=2000)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=500, required=False)
    all_events = forms.BooleanField(label=gettext_lazy("Every event"), required=False, initial=True)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Or only these events"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The event's name in the member's language, then the type the receiver gets in
        # the payload (what a developer matches on), marked as code.
        self.fields["events"].choices = [  # type: ignore[attr-defined]
            (e, format_html('{} <code class="muted">{}</code>', event_type_label(e), e))
            for e in EVENT_TYPES
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all_events") and not data.get("events"):
            self.add_error("events", _("Choose at least one event, or every event."))
        return data

    def event_list(self) -> list[str]:
        return ["*"] if self.cleaned_data["all_events"] else list(self.cleaned_data["events"])


def _form_initial(endpoint: WebhookEndpoint) -> dict[str, Any]:
    every = "*" in endpoint.events
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "all_events": every,
        "events": [] if every else endpoint.events,
        "is_active": endpoint.is_active,
    }


def _add_domain_error(form: EndpointForm, exc: DomainError) -> None:
    for field in ("url", "events"):
        if field in exc.details:
            form.add_error(field, exc.message)
            return
    form.add_error(None, exc.message)


@member_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    creator = membership(request).creator
    endpoints = WebhookEndpoint.objects.filter(creator=creator).order_by("-created_at", "-id")
    return render(
        request,
        "dashboard/webhooks/list.html",
        {"nav_section": "webhooks", "endpoints": list(endpoints)},
    )


@member_required
def endpoint_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        require_write(request)
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = webhook_endpoint_create(
                    creator=membership(request).creator,
                    url=form.cleaned_data["url"],
                    events=form.event_list(),
                    description=form.cleaned_data["description"],
                )
            except DomainError as exc:
                _add_domain_error(form, exc)
            else:
                # The secret is rendered in this response only and never stored in clear.
                response = render(
                    request,
                    "dashboard/webhooks/created.html",
                    {"nav_section": "webhooks", "endpoint": endpoint, "secret": secret},
                    status=201,
                )
                response["Cache-Control"] = "no-store"
                return response
        status = 400
    else:
        form = EndpointForm()
        status = 200
    return render(
        request,
        "dashboard/webhooks/form.html",
        {"nav_section": "webhooks", "form": form, "endpoint": None},
        status=status,
    )


@member_required
def endpoint_detail(request: HttpRequest, uuid: UUID) -> HttpResponse:
    endpoint = tenant_object_get(request, WebhookEndpoint.objects.all(), uuid)
    status = 200
    if request.method == "POST":
        require_write(request)
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                webhook_endpoint_update(
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    events=form.event_list(),
                    description=form.cleaned_data["description"],
                    is_active=form.cleaned_data["is_active"],
                )
            except DomainError as exc:
                _add_domain_error(form, exc)
            else:
                messages.success(request, _("Endpoint saved."))
                return redirect("dashboard:webhook_detail", uuid=endpoint.uuid)
        status = 400
    else:
        form = EndpointForm(initial=_form_initial(endpoint))
    page = Paginator(
        WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id"),
        DELIVERIES_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/webhooks/form.html",
        {
            "nav_section": "webhooks",
            "form": form,
            "endpoint": endpoint,
            "page": page,
            "excerpt_chars": EXCERPT_CHARS,
        },
        status=status,
    )


@require_POST
@member_required
def endpoint_delete(request: HttpRequest, uuid: UUID) -> HttpResponse:
    endpoint = tenant_object_get(request, WebhookEndpoint.objects.all(), uuid, write=True)
    webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, _("Endpoint deleted."))
    return redirect("dashboard:webhooks")


@require_POST
@member_required
def endpoint_test(request: HttpRequest, uuid: UUID) -> HttpResponse:
    endpoint = tenant_object_get(request, WebhookEndpoint.objects.all(), uuid, write=True)
    try:
        webhook_test_send(endpoint=endpoint)
    except Conflict:
        messages.error(request, _("This endpoint is disabled; enable it before sending a test."))
    else:
        messages.success(request, _("A test event was queued; it appears in the deliveries below."))
    return redirect("dashboard:webhook_detail", uuid=endpoint.uuid)


@require_POST
@member_required
def delivery_replay(request: HttpRequest, uuid: UUID) -> HttpResponse:
    delivery = tenant_object_get(
        request, WebhookDelivery.objects.select_related("endpoint"), uuid, write=True
    )
    try:
        webhook_delivery_replay(delivery=delivery)
    except Conflict:
        messages.error(request, _("The endpoint is disabled; enable it before replaying."))
    else:
        messages.success(request, _("The delivery will be sent again now."))
    return redirect("dashboard:webhook_detail", uuid=delivery.endpoint.uuid)
