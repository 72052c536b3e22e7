from __future__ import annotations

from core import scheduling
from dashboard.bulk_jobs import bulk_jobs_requeue


@scheduling.register_job("dashboard_bulk_jobs_requeue", queue="events")
def dashboard_bulk_jobs_requeue() -> int:
    """Bulk actions whose task was lost (broker down) or whose worker died run again."""
    return bulk_jobs_requeue()
