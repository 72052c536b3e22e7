from django.apps import AppConfig


class SegmentationConfig(AppConfig):
    name = "segmentation"

    def ready(self) -> None:
        from segmentation import jobs  # noqa: F401  (registers the periodic job)
        from segmentation.consumer import segmentation_consume
        from subscriptions.outbox import register_consumer

        register_consumer("segmentation", segmentation_consume)
