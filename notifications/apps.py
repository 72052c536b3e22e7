from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Email-marketing providers and transactional email: the end of SPEC §2's chain."""

    name = "notifications"
