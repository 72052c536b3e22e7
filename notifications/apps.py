from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from notifications import jobs  # noqa: F401  (registers the periodic jobs)
        from notifications.webhooks.services import webhooks_on_event
        from subscriptions.outbox import register_consumer

        register_consumer("webhooks", webhooks_on_event)
