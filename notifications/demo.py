"""Demo data: a sandbox integration, so the demo's segmentation rule works end to end
without an account at any email-marketing provider."""

from __future__ import annotations

from accounts.models import Creator
from notifications.models import Integration
from notifications.services import integration_create

DEMO_INTEGRATION_NAME = "Sandbox (demo)"


def seed(creator: Creator) -> None:
    if Integration.objects.filter(creator=creator, name=DEMO_INTEGRATION_NAME).exists():
        return
    integration_create(
        creator=creator, provider="sandbox", name=DEMO_INTEGRATION_NAME, credentials={}
    )
