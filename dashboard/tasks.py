from __future__ import annotations

from celery import shared_task

from dashboard.bulk_jobs import bulk_job_run_now


@shared_task(queue="events", ignore_result=True)
def bulk_job_run(job_id: int) -> None:
    bulk_job_run_now(job_id=job_id)
