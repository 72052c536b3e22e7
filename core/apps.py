from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The bottom layer every app may import (SPEC §2); an app only for its templates."""

    name = "core"


class AxesConfig(AxesAppConfig):
    """django-axes under a name support reads, in both languages (its own is "Axes")."""

    verbose_name = _("Sign-in attempts")
