from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer every app may import (SPEC §2); an app only for its templates."""

    name = "core"
