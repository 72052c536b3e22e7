from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Email-marketing providers and transactional email: the end of SPEC §2's chain."""

    name = "notifications"
    verbose_name = _("Notifications and integrations")
