import os

from celery import Celery, Task, signals
from django.db import close_old_connections

from core.tenancy import tenant_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class OutsideTenantTask(Task):  # type: ignore[misc]
    """Tasks serve no single tenant, even when run eagerly inside a tenant's request:
    they reload rows by id, so the tenant-scope check (core.tenancy) does not apply."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with tenant_context(None):
            return super().__call__(*args, **kwargs)


app = Celery("subscription_manager", task_cls=OutsideTenantTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes every database connection before and after each task
# unless this is set, so each task opened a new PostgreSQL connection (a server process
# fork and authentication: 13% of a busy worker's time under py-spy). Connections are
# instead kept and recycled by Django's own rules (CONN_MAX_AGE, health checks, and a
# connection left unusable by an error is dropped) at the start and end of each task.
app.conf["CELERY_DB_REUSE_MAX"] = 10**9
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_database_connections(task: Task | None = None, **kwargs: object) -> None:
    # An eager task runs inside the caller's transaction: leave its connection alone.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
