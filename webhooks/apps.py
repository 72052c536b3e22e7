from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Outbound webhooks: a consumer of subscriptions' event stream, like segmentation."""

    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from subscriptions.outbox import register_consumer
        from webhooks import jobs  # noqa: F401  (registers the periodic jobs)
        from webhooks.services import webhooks_on_event

        register_consumer("webhooks", webhooks_on_event)
