"""Brevo (API v3). Importing the package registers the adapter."""

from notifications.providers.brevo import adapter  # noqa: F401
