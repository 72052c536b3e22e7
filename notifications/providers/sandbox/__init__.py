"""Sandbox (no account needed). Importing the package registers the adapter."""

from notifications.providers.sandbox import adapter  # noqa: F401
