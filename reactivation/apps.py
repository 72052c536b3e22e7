from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReactivationConfig(AppConfig):
    name = "reactivation"
    verbose_name = _("Reactivation")

    def ready(self) -> None:
        from reactivation import (
            jobs,  # noqa: F401  (registers the periodic jobs)
            payment,  # noqa: F401  (registers the payment-page payer)
        )
