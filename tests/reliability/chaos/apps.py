from django.apps import AppConfig


class ChaosConfig(AppConfig):
    name = "tests.reliability.chaos"
    label = "chaos"

    def ready(self) -> None:
        from subscriptions.outbox import register_consumer
        from tests.reliability.chaos.probe import probe

        register_consumer("chaos_probe", probe)
