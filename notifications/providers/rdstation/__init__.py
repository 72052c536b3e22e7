"""RD Station Marketing (API 2.0, OAuth2). Importing the package registers the adapter."""

from notifications.providers.rdstation import adapter  # noqa: F401
