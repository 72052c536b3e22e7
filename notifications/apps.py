from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications and integrations")

    def ready(self) -> None:
        from notifications import jobs  # noqa: F401  (registers the periodic jobs)
        from notifications.webhooks.services import webhooks_on_event
        from subscriptions.outbox import register_consumer

        register_consumer("webhooks", webhooks_on_event)
