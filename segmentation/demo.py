"""Demo data: one win-back rule on the demo's sandbox integration, so cancelling a
subscription in the demo shows deliveries in the rule's log."""

from __future__ import annotations

from accounts.models import Creator
from notifications.models import Integration
from segmentation.models import SegmentationRule
from segmentation.services import rule_create

DEMO_RULE_NAME = "Win back cancelled subscribers"


def seed(creator: Creator) -> None:
    if SegmentationRule.objects.filter(creator=creator, name=DEMO_RULE_NAME).exists():
        return
    integration = Integration.objects.filter(creator=creator, provider="sandbox").first()
    if integration is None:
        return
    rule_create(
        creator=creator,
        data={
            "name": DEMO_RULE_NAME,
            "product": None,
            "triggers": ["CANCELLED_BY_CUSTOMER", "CANCELLED_BY_SELLER"],
            "match": "all",
            "conditions": [{"field": "recurrence", "op": "gte", "value": 1}],
            "actions": [
                {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"},
                {"type": "add_to_list", "integration": str(integration.uuid), "list": "win-back"},
            ],
            "is_active": True,
        },
    )
