"""Segmentation rules: list with toggle and alerts, the builder (htmx rows, provider
dropdowns, live preview), delete, send test, and each rule's delivery log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import member_required, membership, require_write, tenant_object_get
from dashboard.exports import DELIVERY_COLUMNS, csv_lines, csv_response, delivery_rows
from dashboard.rule_builder import (
    ActionRow,
    Builder,
    ConditionRow,
    ProviderOptions,
    action_from_post,
    builder_context,
    condition_from_post,
    new_key,
)
from segmentation.compiler import RuleSpec
from segmentation.models import SegmentationRule
from segmentation.selectors import (
    deliveries_of_rule,
    rule_figures,
    rule_preview,
    rules_with_figures,
)
from segmentation.services import rule_create, rule_delete, rule_send_test, rule_update
from segmentation.validation import RuleInvalid, rule_clean

DELIVERIES_PER_PAGE = 50


def _rules(request: HttpRequest) -> Any:
    return rules_with_figures(
        SegmentationRule.objects.filter(creator=membership(request).creator)
    ).order_by("-created_at", "-id")


def _with_figures(rules: list[SegmentationRule]) -> list[SegmentationRule]:
    for rule in rules:
        rule.figures = rule_figures(rule)  # type: ignore[attr-defined]
    return rules


@member_required
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/segmentations/list.html",
        {"nav_section": "segmentations", "rules": _with_figures(list(_rules(request)))},
    )


@require_POST
@member_required
def rule_toggle(request: HttpRequest, uuid: UUID) -> HttpResponse:
    rule = tenant_object_get(request, SegmentationRule.objects.all(), uuid, write=True)
    error = ""
    try:
        rule_update(rule=rule, data={"is_active": not rule.is_active})
    except RuleInvalid as exc:
        error = _("This rule cannot be switched on until it is fixed: %(errors)s") % {
            "errors": "; ".join(exc.lines)
        }
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("dashboard:segmentations")
    row = _with_figures(list(_rules(request).filter(pk=rule.pk)))[0]
    return render(
        request, "dashboard/segmentations/_row.html", {"rule": row, "toggle_error": error}
    )


def _render_builder(
    request: HttpRequest,
    builder: Builder,
    rule: SegmentationRule | None,
    *,
    status: int = 200,
    test_results: list[Any] | None = None,
) -> HttpResponse:
    context = builder_context(membership(request).creator)
    options = ProviderOptions(context["integrations"])
    for row in builder.actions:
        options.fill(row)
    return render(
        request,
        "dashboard/segmentations/builder.html",
        {
            **context,
            "nav_section": "segmentations",
            "builder": builder,
            "rule": rule,
            "test_results": test_results,
            "test_email": request.user.email,  # type: ignore[union-attr]
        },
        status=status,
    )


def _save(request: HttpRequest, rule: SegmentationRule | None) -> HttpResponse:
    require_write(request)
    builder = Builder.from_post(request.POST)
    creator = membership(request).creator
    try:
        if rule is None:
            rule = rule_create(
                creator=creator,
                data=builder.as_data(),
                created_by=request.user,  # type: ignore[arg-type]
            )
            messages.success(request, _("Rule created."))
        else:
            rule_update(rule=rule, data=builder.as_data())
            messages.success(request, _("Rule saved."))
    except RuleInvalid as exc:
        builder.attach_errors(exc.errors)
        return _render_builder(request, builder, rule, status=400)
    return redirect("dashboard:segmentation_edit", uuid=rule.uuid)


@member_required
def rule_create_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, None)
    return _render_builder(request, Builder.from_rule(None), None)


@member_required
def rule_edit(request: HttpRequest, uuid: UUID) -> HttpResponse:
    rule = tenant_object_get(request, SegmentationRule.objects.select_related("product"), uuid)
    if request.method == "POST":
        return _save(request, rule)
    return _render_builder(request, Builder.from_rule(rule), rule)


@member_required
def rule_row(request: HttpRequest) -> HttpResponse:
    """htmx partials of the builder: a new row (`kind`), a row re-rendered after its field,
    operator, type, integration or list changed (`key` with the row's inputs), or nothing
    (`remove`). Adding or removing a row asks the preview to refresh."""
    params = request.GET
    kind = params.get("kind", "condition")
    context = builder_context(membership(request).creator)
    if params.get("remove"):
        response = HttpResponse("")
        response["HX-Trigger-After-Swap"] = "rowsChanged"
        return response
    key = params.get("key") or ""
    if kind == "action":
        action = action_from_post(params, key) if key else ActionRow(key=new_key())
        ProviderOptions(context["integrations"]).fill(action)
        response = render(
            request, "dashboard/segmentations/_action_row.html", {**context, "action": action}
        )
    else:
        condition = condition_from_post(params, key) if key else ConditionRow(key=new_key())
        response = render(
            request,
            "dashboard/segmentations/_condition_row.html",
            {**context, "condition": condition},
        )
    if not key:
        response["HX-Trigger-After-Swap"] = "rowsChanged"
    return response


@require_POST
@member_required
def rule_preview_view(request: HttpRequest) -> HttpResponse:
    """The live "N match / M events" line; a rule that does not validate yet says so."""
    creator = membership(request).creator
    builder = Builder.from_post(request.POST)
    data = builder.as_data(with_actions=False)
    data["name"] = data["name"] or "preview"
    try:
        clean = rule_clean(creator=creator, data=data, require_actions=False)
    except RuleInvalid as exc:
        return render(request, "dashboard/segmentations/_preview.html", {"invalid": exc.lines})
    spec = RuleSpec(
        triggers=tuple(clean.triggers),
        match=clean.match,
        conditions=tuple(clean.conditions),
        product_id=clean.product.pk if clean.product else None,
    )
    return render(
        request,
        "dashboard/segmentations/_preview.html",
        {"preview": rule_preview(creator=creator, spec=spec)},
    )


@member_required
def rule_delete_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    rule = tenant_object_get(request, SegmentationRule.objects.all(), uuid)
    if request.method == "POST":
        require_write(request)
        rule_delete(rule=rule)
        messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
        return redirect("dashboard:segmentations")
    return render(
        request,
        "dashboard/segmentations/delete.html",
        {"nav_section": "segmentations", "rule": rule},
    )


@require_POST
@member_required
def rule_test(request: HttpRequest, uuid: UUID) -> HttpResponse:
    rule = tenant_object_get(
        request, SegmentationRule.objects.select_related("product", "creator"), uuid, write=True
    )
    email = (request.POST.get("email") or "").strip() or request.user.email  # type: ignore[union-attr]
    results = rule_send_test(rule=rule, email=email)
    if request.headers.get("HX-Request"):
        return render(
            request,
            "dashboard/segmentations/_test_results.html",
            {"test_results": results, "test_email": email},
        )
    return _render_builder(request, Builder.from_rule(rule), rule, test_results=results)


@member_required
def rule_deliveries(request: HttpRequest, uuid: UUID) -> HttpResponse:
    rule = tenant_object_get(request, SegmentationRule.objects.all(), uuid)
    page = Paginator(
        deliveries_of_rule(rule).select_related("integration").order_by("-created_at", "-id"),
        DELIVERIES_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/segmentations/deliveries.html",
        {"nav_section": "segmentations", "rule": rule, "page": page},
    )


@require_GET
@member_required
def rule_deliveries_export(request: HttpRequest, uuid: UUID) -> StreamingHttpResponse:
    """The rule's whole delivery log as CSV, newest first (see dashboard/exports.py)."""
    rule = tenant_object_get(request, SegmentationRule.objects.all(), uuid)
    return csv_response(
        csv_lines(DELIVERY_COLUMNS, delivery_rows(deliveries_of_rule(rule))),
        filename=f"deliveries-{rule.uuid}-{timezone.localdate():%Y-%m-%d}.csv",
    )
