from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        from subscriptions import jobs  # noqa: F401  (registers the periodic jobs)
        from subscriptions.gateways import register_gateway
        from subscriptions.gateways.stripe import StripeGateway

        register_gateway("stripe", StripeGateway)
