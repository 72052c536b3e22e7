from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self) -> None:
        from dashboard import jobs  # noqa: F401  (registers the periodic jobs)
        from dashboard.bulk import register_bulk_action
        from dashboard.views.reactivation import BULK_ACTION

        register_bulk_action(BULK_ACTION)
