"""Bulk actions in the background: a `BulkJob` row, a Celery task that claims and runs it,
and the periodic job that re-queues a job whose message was lost."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Creator, User
from dashboard.bulk import BulkSelection, bulk_action_get
from dashboard.forms import SubscriptionFilterForm
from dashboard.models import BulkJob
from dashboard.selectors import plans_for_filter, products_for_filter

logger = logging.getLogger(__name__)

# A queued job whose task never started (broker down at commit) is queued again.
REQUEUE_AFTER = timedelta(minutes=2)
# A running job older than this belongs to a worker that died; it is run again (the
# actions are idempotent enough: reactivation requests supersede their own pending ones).
STALE_RUNNING_AFTER = timedelta(minutes=15)


def selection_params(selection: BulkSelection, query: str) -> dict[str, Any]:
    return {
        "query": query,
        "uuids": [str(u) for u in selection.uuids],
        "all_matching": selection.all_matching,
    }


def selection_rebuild(*, creator: Creator, params: dict[str, Any]) -> BulkSelection:
    form = SubscriptionFilterForm(
        QueryDict(params.get("query", "")),
        products=list(products_for_filter(creator=creator)),
        plans=list(plans_for_filter(creator=creator)),
    )
    return BulkSelection(
        creator=creator,
        filters=form.filters(),
        uuids=tuple(UUID(u) for u in params.get("uuids", [])),
        all_matching=bool(params.get("all_matching")),
    )


def bulk_job_create(
    *,
    creator: Creator,
    action: str,
    selection: BulkSelection,
    query: str,
    extra: dict[str, Any],
    created_by: User | None,
) -> BulkJob:
    """Record the job and queue its task after commit."""
    with transaction.atomic():
        job = BulkJob.objects.create(
            creator=creator,
            action=action,
            params={**selection_params(selection, query), **extra},
            created_by=created_by,
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from dashboard.tasks import bulk_job_run

    try:
        bulk_job_run.delay(job_id)
    except Exception:  # broker down: the periodic job queues it again
        logger.warning("bulk job %s not queued; the periodic job will retry", job_id)


def bulk_job_run_now(*, job_id: int) -> BulkJob | None:
    """Claim the job (queued → running, one conditional UPDATE) and run its action."""
    now = timezone.now()
    claimed = BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.QUEUED).update(
        status=BulkJob.Status.RUNNING, started_at=now
    )
    if not claimed:
        return None
    job = BulkJob.objects.select_related("creator").get(pk=job_id)
    action = bulk_action_get(job.action)
    if action is None or action.runner is None:
        job.status, job.error = BulkJob.Status.FAILED, f"unknown action {job.action!r}"
    else:
        try:
            job.result = action.runner(
                job, selection_rebuild(creator=job.creator, params=job.params)
            )
            job.status = BulkJob.Status.DONE
        except Exception as exc:
            logger.exception("bulk job %s failed", job.pk)
            job.status, job.error = BulkJob.Status.FAILED, str(exc)[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["result", "status", "error", "finished_at"])
    return job


def bulk_jobs_requeue(*, now: Any = None) -> int:
    """Queue again jobs whose task was lost, and release jobs of dead workers."""
    now = now or timezone.now()
    BulkJob.objects.filter(
        status=BulkJob.Status.RUNNING, started_at__lt=now - STALE_RUNNING_AFTER
    ).update(status=BulkJob.Status.QUEUED)
    ids = list(
        BulkJob.objects.filter(
            status=BulkJob.Status.QUEUED, created_at__lt=now - REQUEUE_AFTER
        ).values_list("pk", flat=True)[:100]
    )
    for job_id in ids:
        _enqueue(job_id)
    return len(ids)
