from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.actors import Actor
from core.errors import Conflict
from dashboard.access import (
    member_required,
    membership,
    require_write,
    subscription_get_for_member,
)
from dashboard.bulk import BulkSelection, bulk_action_get, bulk_actions
from dashboard.exports import (
    SUBSCRIPTION_COLUMNS,
    csv_lines,
    csv_response,
    subscription_rows,
)
from dashboard.forms import PauseForm, ResumeForm, SellerCancelForm, SubscriptionFilterForm
from dashboard.pagination import keyset_page
from dashboard.selectors import (
    SORTS,
    plans_for_filter,
    products_for_filter,
    subscription_charges,
    subscription_events,
    subscriptions_filtered,
    subscriptions_for_table,
)
from dashboard.views.plan_changes import plan_options
from dashboard.views.reactivation import detail_context as reactivation_detail_context
from subscriptions.billing import local_date
from subscriptions.billing_day import changed_this_period
from subscriptions.services import subscription_cancel

PAGE_SIZE = 50


def _filter_form(request: HttpRequest, data: QueryDict) -> SubscriptionFilterForm:
    creator = membership(request).creator
    return SubscriptionFilterForm(
        data,
        products=list(products_for_filter(creator=creator)),
        plans=list(plans_for_filter(creator=creator)),
    )


def _query_without(data: QueryDict, *names: str) -> str:
    query = data.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@member_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    creator = membership(request).creator
    form = _filter_form(request, request.GET)
    sort = form.sort_key()
    page = keyset_page(
        subscriptions_for_table(creator=creator, filters=form.filters()),
        key=SORTS[sort],
        cursor=request.GET.get("cursor"),
        size=PAGE_SIZE,
    )
    context: dict[str, Any] = {
        "nav_section": "subscriptions",
        "form": form,
        "page": page,
        "sort": sort,
        # The count runs in its own request (htmx, after the table shows), so paging
        # never waits for a COUNT over a big tenant.
        "filter_query": _query_without(request.GET, "cursor"),
        "bulk_actions": bulk_actions() if membership(request).can_write else [],
    }
    template = (
        "dashboard/subscriptions/_table.html"
        if request.htmx and request.htmx.target == "subscriptions-results"  # type: ignore[attr-defined]
        else "dashboard/subscriptions/list.html"
    )
    return render(request, template, context)


@require_GET
@member_required
def subscription_count(request: HttpRequest) -> HttpResponse:
    creator = membership(request).creator
    form = _filter_form(request, request.GET)
    count = subscriptions_filtered(creator=creator, filters=form.filters()).count()
    return render(
        request,
        "dashboard/subscriptions/_count.html",
        {"count": count, "can_select_all": bool(bulk_actions()) and membership(request).can_write},
    )


@require_GET
@member_required
def subscription_export(request: HttpRequest) -> StreamingHttpResponse:
    """The table's rows under its current filters, as CSV (see dashboard/exports.py)."""
    creator = membership(request).creator
    form = _filter_form(request, request.GET)
    rows = subscription_rows(subscriptions_filtered(creator=creator, filters=form.filters()))
    return csv_response(
        csv_lines(SUBSCRIPTION_COLUMNS, rows),
        filename=f"subscriptions-{creator.slug}-{timezone.localdate():%Y-%m-%d}.csv",
    )


@require_POST
@member_required
def subscription_bulk(request: HttpRequest) -> HttpResponse:
    """Validate the selection and hand it to the chosen action (see dashboard/bulk.py)."""
    current = require_write(request)
    action = bulk_action_get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Choose an action."))
        return _back_to_the_filtered_list(request)
    form = _filter_form(request, request.POST)
    uuids: list[UUID] = []
    for value in request.POST.getlist("subscription"):
        try:
            uuids.append(UUID(value))
        except ValueError:
            continue
    all_matching = request.POST.get("all_matching") == "1"
    if not uuids and not all_matching:
        messages.error(request, _("Select at least one subscription."))
        return _back_to_the_filtered_list(request)
    selection = BulkSelection(
        creator=current.creator,
        filters=form.filters(),
        uuids=tuple(uuids),
        all_matching=all_matching,
    )
    return action.handler(request, selection)


def _back_to_the_filtered_list(request: HttpRequest) -> HttpResponse:
    """The list as the creator left it: the bulk form carries the table's filters."""
    params = QueryDict(mutable=True)
    for name in SubscriptionFilterForm.base_fields:
        values = [value for value in request.POST.getlist(name) if value]
        if values:
            params.setlist(name, values)
    url = reverse("dashboard:subscriptions")
    return redirect(f"{url}?{params.urlencode()}" if params else url)


def _detail_context(request: HttpRequest, subscription: Any, **extra: Any) -> dict[str, Any]:
    return {
        "nav_section": "subscriptions",
        "subscription": subscription,
        "events": list(subscription_events(subscription=subscription)[:200]),
        "charges": list(subscription_charges(subscription=subscription)[:200]),
        "cancel_form": extra.pop("cancel_form", None) or SellerCancelForm(),
        "plan_options": plan_options(subscription),
        "pause_form": PauseForm(),
        "billing_day_changeable": not changed_this_period(
            subscription, local_date(timezone.now(), subscription.creator.tz)
        ),
        "resume_form": ResumeForm(),
        **reactivation_detail_context(subscription),
        **extra,
    }


@require_GET
@member_required
def subscription_detail(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid)
    return render(
        request, "dashboard/subscriptions/detail.html", _detail_context(request, subscription)
    )


@require_POST
@member_required
def subscription_cancel_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid, write=True)
    form = SellerCancelForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            subscription = subscription_cancel(
                subscription=subscription,
                actor=Actor.member(request.user),
                reason=form.reason_text(),
            )
            messages.success(request, _("The subscription is cancelled."))
            form = SellerCancelForm()
        except Conflict as error:
            messages.error(
                request,
                _("This subscription cannot be cancelled: %(reason)s")
                % {"reason": _conflict_text(error.code)},
            )
            status = 409
    else:
        status = 400
    if not request.htmx:  # type: ignore[attr-defined]
        if status == 200:
            return redirect("dashboard:subscription_detail", uuid=subscription.uuid)
        return render(
            request,
            "dashboard/subscriptions/detail.html",
            _detail_context(request, subscription, cancel_form=form),
            status=status,
        )
    # htmx swaps the summary and, out of band, the timeline; the status stays 200 so the
    # swap happens and the message shows in place.
    return render(
        request,
        "dashboard/subscriptions/_cancelled.html",
        _detail_context(request, subscription, cancel_form=form),
    )


def _conflict_text(code: str) -> str:
    return {
        "already_cancelled": _("it is already cancelled."),
        "already_ended": _("it has already ended."),
        "inactive": _("it never became active."),
    }.get(code, _("its status does not allow it."))
