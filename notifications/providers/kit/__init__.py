"""Kit (ConvertKit API v4). Importing the package registers the adapter."""

from notifications.providers.kit import adapter  # noqa: F401
