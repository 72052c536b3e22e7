"""ActiveCampaign (API v3). Importing the package registers the adapter."""

from notifications.providers.activecampaign import adapter  # noqa: F401
