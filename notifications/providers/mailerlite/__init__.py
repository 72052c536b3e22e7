"""MailerLite (the new API at connect.mailerlite.com). Importing the package registers
the adapter."""

from notifications.providers.mailerlite import adapter  # noqa: F401
