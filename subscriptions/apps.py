from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"

    def ready(self) -> None:
        from subscriptions import jobs  # noqa: F401  (registers the periodic jobs)
