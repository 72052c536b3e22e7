"""Reactivation in the dashboard: the subscriptions table's bulk action (run in the
background, its page polled until the summary), request / resend / revoke on the detail
page, and the list of requests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

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
from dashboard.exports import EXPORT_CHUNK, csv_lines, csv_response
from dashboard.models import BulkJob
from reactivation.models import Mode, ReactivationBatch, ReactivationRequest
from reactivation.selectors import batch_progress, bulk_preview, requests_for_creator
from reactivation.services import (
    reactivation_request_create,
    reactivation_request_resend,
    reactivation_request_revoke,
    reactivation_requests_create_bulk,
)
from subscriptions.models import Subscription
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
    """First answer: what will happen (emails, mode, refusals, requests replaced), with
    the selection carried in hidden fields; the send starts only from that page's button
    (`confirmed=1`)."""
    mode = _mode(request)
    if mode is None:
        messages.error(
            request, _("Choose how to reactivate: reactivate, or reactivate and charge.")
        )
        return redirect(_back_to_table(request))
    if request.POST.get("confirmed") != "1":
        return _bulk_confirm(request, selection, mode)
    query = request.POST.copy()
    for name in (
        "csrfmiddlewaretoken",
        "action",
        "subscription",
        "all_matching",
        "mode",
        "confirmed",
    ):
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


def _back_to_table(request: HttpRequest) -> str:
    """The subscriptions table with the filters the selection was made under."""
    query = request.POST.copy()
    for name in (
        "csrfmiddlewaretoken",
        "action",
        "subscription",
        "all_matching",
        "mode",
        "confirmed",
    ):
        query.pop(name, None)
    encoded = query.urlencode()
    return reverse("dashboard:subscriptions") + (f"?{encoded}" if encoded else "")


def _bulk_confirm(request: HttpRequest, selection: BulkSelection, mode: str) -> HttpResponse:
    preview = bulk_preview(creator=selection.creator, subscriptions=selection.subscriptions())
    labels = refusal_labels()
    other_mode = Mode.REACTIVATE_AND_CHARGE if mode == Mode.REACTIVATE else Mode.REACTIVATE
    modes = dict(Mode.choices)
    carried = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", "confirmed")
        for value in values
    ]
    return render(
        request,
        "dashboard/reactivation/bulk_confirm.html",
        {
            "nav_section": "subscriptions",
            "preview": preview,
            "mode": mode,
            "mode_label": modes[mode],
            "other_mode_label": modes[other_mode],
            "replaced_same": preview.pending_by_mode.get(mode, 0),
            "replaced_other": preview.pending_by_mode.get(other_mode, 0),
            "refused": sorted(
                (labels.get(code, code), count) for code, count in preview.refused_by_code.items()
            ),
            "refused_total": sum(preview.refused_by_code.values()),
            "carried": carried,
            "back_url": _back_to_table(request),
        },
    )


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
        # Which ones, for the "Not sent" list and its CSV: [subscription uuid, code].
        "refused": [[f["subscription"], f["code"]] for f in result.failed],
    }


BULK_ACTION = BulkAction(
    name=ACTION_NAME,
    label=gettext_lazy("Send reactivation request"),
    handler=bulk_handler,
    fields_template="dashboard/reactivation/_bulk_fields.html",
    runner=bulk_runner,
)


REFUSED_SHOWN = 50


def _refused_rows(
    job: BulkJob, listed: list[list[str]], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """[uuid, code] pairs of a job, with each subscription's email (one query)."""
    wanted = []
    for raw, _code in listed:
        try:
            wanted.append(UUID(raw))
        except ValueError:
            continue
    emails = dict(
        Subscription.objects.filter(creator_id=job.creator_id, uuid__in=wanted).values_list(
            "uuid", "subscriber__email"
        )
    )
    rows = []
    for raw, code in listed:
        try:
            key: UUID | None = UUID(raw)
        except ValueError:
            key = None
        rows.append(
            {
                "uuid": key if key in emails else None,
                "id": raw,
                "email": emails.get(key, "") if key else "",
                "code": code,
                "reason": labels.get(code, code),
            }
        )
    return rows


def _refused_csv_rows(job: BulkJob, labels: dict[str, str]) -> Iterator[list[Any]]:
    listed = job.result.get("refused") or []
    for start in range(0, len(listed), EXPORT_CHUNK):
        for row in _refused_rows(job, listed[start : start + EXPORT_CHUNK], labels):
            yield [row["id"], row["email"], row["code"], row["reason"]]


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
    listed = job.result.get("refused") or []
    return {
        "job": job,
        "progress": progress,
        "finished": finished,
        "refused": refused,
        "refused_rows": _refused_rows(job, listed[:REFUSED_SHOWN], labels) if finished else [],
        "refused_more": max(len(listed) - REFUSED_SHOWN, 0),
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


@require_GET
@member_required
def bulk_refused_export(request: HttpRequest, uuid: UUID) -> StreamingHttpResponse:
    """The subscriptions a bulk send left out, with the reason, as CSV."""
    job = get_object_or_404(BulkJob, creator=membership(request).creator, uuid=uuid)
    return csv_response(
        csv_lines(
            ["id", "email", "reason_code", "reason"], _refused_csv_rows(job, refusal_labels())
        ),
        filename=f"not-sent-{job.uuid}.csv",
    )


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
