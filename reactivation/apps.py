from django.apps import AppConfig


class ReactivationConfig(AppConfig):
    name = "reactivation"

    def ready(self) -> None:
        from reactivation import (
            jobs,  # noqa: F401  (registers the periodic jobs)
            payment,  # noqa: F401  (registers the payment-page payer)
        )
