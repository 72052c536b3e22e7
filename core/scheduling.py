"""Registry of periodic jobs. Celery beat runs each every SCHEDULED_JOB_INTERVAL seconds;
`manage.py run_scheduled_jobs` runs each once (cron deployments, tests).

A job claims its own work with row locks (`select_for_update(skip_locked=True)`) or
conditional UPDATEs, so two runs at the same time never do the same work twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], int]  # returns how many items it handled
    queue: str = "billing"


_JOBS: dict[str, Job] = {}


def register_job(
    name: str, *, queue: str = "billing"
) -> Callable[[Callable[[], int]], Callable[[], int]]:
    def decorator(func: Callable[[], int]) -> Callable[[], int]:
        _JOBS[name] = Job(name=name, func=func, queue=queue)
        return func

    return decorator


def jobs() -> dict[str, Job]:
    return dict(_JOBS)


def run_all() -> dict[str, int]:
    return {name: job.func() for name, job in _JOBS.items()}
