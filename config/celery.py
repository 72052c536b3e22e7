import os

from celery import Celery, Task

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
