"""Mailchimp (Marketing API v3). Importing the package registers the adapter."""

from notifications.providers.mailchimp import adapter  # noqa: F401
