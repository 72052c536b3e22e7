from django.apps import AppConfig


class ReactivationConfig(AppConfig):
    name = "reactivation"
