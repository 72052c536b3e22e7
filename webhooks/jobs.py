"""Periodic jobs of outbound webhooks (registered at import by AppConfig.ready)."""

from __future__ import annotations

from core import scheduling
from webhooks import services as webhooks


@scheduling.register_job("webhook_deliveries_due", queue="webhooks")
def webhook_deliveries_due() -> int:
    """Send every webhook attempt whose time has come (retries, lost messages)."""
    due = webhooks.webhook_deliveries_claim_due()
    webhooks.enqueue(due)
    return len(due)
