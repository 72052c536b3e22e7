from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = _("Payment recovery")

    def ready(self) -> None:
        from recovery import card_notices, jobs, reminders  # noqa: F401  (register the periodic jobs)
        from recovery.consumer import recovery_consume
        from subscriptions.outbox import register_consumer

        register_consumer("recovery", recovery_consume)
