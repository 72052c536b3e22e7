"""Reactivation in the dashboard: the subscriptions table's bulk action (run in the
background, its page polled until the summary), request / resend / revoke on the detail
page, and the list of requests."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.actors import Actor
from core.errors import Conflict
from dashboard.access import (
    member_required,
    membership,
    subscription_get_for_member,
    tenant_object_get,
)
from dashboard.bulk import BulkAction, BulkSelection
from dashboard.bulk_jobs import bulk_job_create
from dashboard.models import BulkJob
from reactivation.models import Mode, ReactivationBatch, ReactivationRequest
from reactivation.selectors import batch_progress, requests_for_creator
from reactivation.services import (
    reactivation_request_create,
    reactivation_request_resend,
    reactivation_request_revoke,
    reactivation_requests_create_bulk,
)
from subscriptions.reactivation_rules import REFUSALS

ACTION_NAME = "reactivation_request"
LIST_PAGE_SIZE = 50


def refusal_labels() -> dict[str, str]:
    """The refusal codes, said in the creator's language."""
    return {refusal.code: refusal.message for refusal in REFUSALS}


def _actor(request: HttpRequest) -> Actor:
    return Actor.member(request.user)


def _mode(request: HttpRequest) -> str | None:
    mode = request.POST.get("mode", "")
    return mode if mode in Mode.values else None


# --- bulk action ----------------------------------------------------------------------


def bulk_handler(request: HttpRequest, selection: BulkSelection) -> HttpResponse:
    mode = _mode(request)
    if mode is None:
        messages.error(
            request, _("Choose how to reactivate: reactivate, or reactivate and charge.")
        )
        return redirect("dashboard:subscriptions")
    query = request.POST.copy()
    for name in ("csrfmiddlewaretoken", "action", "subscription", "all_matching", "mode"):
        query.pop(name, None)
    job = bulk_job_create(
        creator=selection.creator,
        action=ACTION_NAME,
        selection=selection,
        query=query.urlencode(),
        extra={"mode": mode},
        created_by=request.user,  # type: ignore[arg-type]
    )
    return redirect("dashboard:reactivation_bulk", uuid=job.uuid)


def bulk_runner(job: BulkJob, selection: BulkSelection) -> dict[str, Any]:
    """In the background task: one bulk call of the reactivation app (it writes the rows,
    supersedes and events in one transaction and emails in batches after commit)."""
    result = reactivation_requests_create_bulk(
        creator=selection.creator,
        mode=job.params["mode"],
        subscriptions=selection.subscriptions(),
        actor=Actor.member(job.created_by) if job.created_by else Actor.system("dashboard"),
        requested_by=job.created_by,
    )
    return {
        "batch": str(result.batch.uuid),
        "refused_by_code": dict(Counter(f["code"] for f in result.failed)),
    }


BULK_ACTION = BulkAction(
    name=ACTION_NAME,
    label=gettext_lazy("Send reactivation request"),
    handler=bulk_handler,
    fields_template="dashboard/reactivation/_bulk_fields.html",
    runner=bulk_runner,
)


def _progress_context(job: BulkJob) -> dict[str, Any]:
    progress = None
    batch = None
    if job.result.get("batch"):
        batch = ReactivationBatch.objects.filter(
            creator=job.creator_id, uuid=job.result["batch"]
        ).first()
        if batch is not None:
            progress = batch_progress(batch=batch)
    finished = job.status == BulkJob.Status.FAILED or (
        progress is not None and progress.status == ReactivationBatch.Status.DONE
    )
    labels = refusal_labels()
    refused = [
        (labels.get(code, code), count)
        for code, count in sorted((job.result.get("refused_by_code") or {}).items())
    ]
    return {
        "job": job,
        "progress": progress,
        "finished": finished,
        "refused": refused,
        "mode_label": dict(Mode.choices).get(job.params.get("mode", ""), ""),
    }


@member_required
def bulk_progress_page(request: HttpRequest, uuid: UUID) -> HttpResponse:
    job = get_object_or_404(BulkJob, creator=membership(request).creator, uuid=uuid)
    template = (
        "dashboard/reactivation/_bulk_progress.html"
        if request.headers.get("HX-Request")
        else "dashboard/reactivation/bulk.html"
    )
    return render(request, template, {"nav_section": "subscriptions", **_progress_context(job)})


# --- one subscription ------------------------------------------------------------------


@require_POST
@member_required
def request_create_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    subscription = subscription_get_for_member(request, uuid, write=True)
    mode = _mode(request)
    if mode is None:
        messages.error(request, _("Choose how to reactivate."))
    else:
        try:
            reactivation_request_create(
                subscription=subscription,
                mode=mode,
                actor=_actor(request),
                requested_by=request.user,  # type: ignore[arg-type]
            )
        except Conflict as exc:
            messages.error(request, refusal_labels().get(exc.code or "", exc.message))
        else:
            messages.success(
                request,
                _("Reactivation request sent to %(email)s.")
                % {"email": subscription.subscriber.email},
            )
    return redirect("dashboard:subscription_detail", uuid=subscription.uuid)


def _request_get(request: HttpRequest, uuid: UUID, *, write: bool) -> ReactivationRequest:
    return tenant_object_get(
        request,
        ReactivationRequest.objects.select_related("subscription__plan__product"),
        uuid,
        write=write,
    )


@require_POST
@member_required
def request_resend_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    found = _request_get(request, uuid, write=True)
    try:
        reactivation_request_resend(
            reactivation_request=found,
            actor=_actor(request),
            requested_by=request.user,  # type: ignore[arg-type]
        )
    except Conflict as exc:
        messages.error(request, refusal_labels().get(exc.code or "", exc.message))
    else:
        messages.success(request, _("A new link was sent; the previous one no longer works."))
    return redirect("dashboard:subscription_detail", uuid=found.subscription.uuid)


@require_POST
@member_required
def request_revoke_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    found = _request_get(request, uuid, write=True)
    if reactivation_request_revoke(reactivation_request=found, actor=_actor(request)):
        messages.success(request, _("The request was revoked; its link no longer works."))
    else:
        messages.error(request, _("This request is no longer pending."))
    return redirect("dashboard:subscription_detail", uuid=found.subscription.uuid)


def detail_context(subscription: Any) -> dict[str, Any]:
    """For the subscription page: its latest requests and the pending one, if any."""
    requests = list(
        ReactivationRequest.objects.filter(subscription=subscription).order_by(
            "-created_at", "-id"
        )[:10]
    )
    pending = next((r for r in requests if r.status == ReactivationRequest.Status.PENDING), None)
    return {
        "reactivation_requests": requests,
        "pending_request": pending,
        "reactivation_modes": Mode.choices,
    }


# --- list --------------------------------------------------------------------------------


@member_required
def request_list(request: HttpRequest) -> HttpResponse:
    from django.core.paginator import Paginator

    status = request.GET.get("status", "")
    if status not in ReactivationRequest.Status.values:
        status = ""
    queryset = (
        requests_for_creator(creator=membership(request).creator, status=status or None)
        .select_related("subscription__subscriber", "subscription__plan__product")
        .order_by("-created_at", "-id")
    )
    page = Paginator(queryset, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/reactivation/list.html",
        {
            "nav_section": "reactivation",
            "page": page,
            "status": status,
            "statuses": ReactivationRequest.Status.choices,
        },
    )
