import os

from celery import Celery, Task, signals

from accounts.tenancy import tenant_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class OutsideTenantTask(Task):  # type: ignore[misc]
    """Tasks serve no single tenant, even when run eagerly inside a tenant's request:
    they reload rows by id, so the tenant-scope check (accounts.tenancy) does not apply."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with tenant_context(None):
            return super().__call__(*args, **kwargs)


app = Celery("subscription_manager", task_cls=OutsideTenantTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_connections(sender: Task | None = None, **kwargs: object) -> None:
    """What Django does around a request: drop a connection that broke or outlived
    CONN_MAX_AGE, and health-check the next one (settings.CELERY_DB_REUSE_MAX keeps
    Celery from closing every connection instead). Not for eager tasks, which run inside
    the caller's transaction."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections as django_close_old_connections

    django_close_old_connections()
