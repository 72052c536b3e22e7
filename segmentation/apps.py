from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segmentation")

    def ready(self) -> None:
        from segmentation import jobs  # noqa: F401  (registers the periodic job)
        from segmentation.consumer import segmentation_consume
        from subscriptions.outbox import register_consumer

        register_consumer("segmentation", segmentation_consume)

        from notifications.services import register_in_use_checker, register_reconnect_listener
        from segmentation.services import integration_used_by_rules, rules_clear_integration_error

        register_in_use_checker("segmentation", integration_used_by_rules)
        register_reconnect_listener(
            "segmentation",
            lambda integration: rules_clear_integration_error(integration=integration),
        )
