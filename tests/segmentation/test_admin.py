"""The support admin's rule editor saves through the same validation as the API and the
dashboard, and offers only the rule's creator's integrations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from segmentation.models import SegmentationRule
from segmentation.services import rule_create
from tests.factories import CreatorFactory, UserFactory
from tests.segmentation.factories import IntegrationFactory
from tests.segmentation.test_api import body

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _form(rule: SegmentationRule, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": rule.name,
        "creator": rule.creator_id,
        "product": rule.product_id or "",
        "triggers": json.dumps(rule.triggers),
        "match": rule.match,
        "conditions": json.dumps(rule.conditions),
        "actions": json.dumps(rule.actions),
        "is_active": "on" if rule.is_active else "",
        "status": rule.status,
        "last_error": rule.last_error,
    }
    data.update(changes)
    return data


def test_the_admin_refuses_what_the_api_refuses(support, creator):
    integration = IntegrationFactory(creator=creator)
    foreign = IntegrationFactory(creator=CreatorFactory(), name="Other tenant's list")
    rule = rule_create(creator=creator, data=body(integration))
    url = reverse("admin:segmentation_segmentationrule_change", args=[rule.pk])
    cases = {
        "another tenant's integration": json.dumps(
            [{"type": "add_tag", "integration": str(foreign.uuid), "tag": "x"}]
        ),
        "no action": "[]",
    }
    for what, actions in cases.items():
        response = support.post(url, _form(rule, actions=actions))
        assert response.status_code == 200, what  # the form again, with the error
        assert "errornote" in response.content.decode(), what
    bad_condition = json.dumps([{"field": "price", "op": "contains", "value": "x"}])
    response = support.post(url, _form(rule, conditions=bad_condition))
    assert "conditions[0]" in response.content.decode()
    rule.refresh_from_db()
    assert rule.actions == body(integration)["actions"]
    assert rule.conditions == body(integration)["conditions"]


def test_the_admin_offers_only_the_creators_integrations_and_saves_through_the_service(
    support, creator
):
    integration = IntegrationFactory(creator=creator)
    other = IntegrationFactory(creator=creator, name="Second list")
    IntegrationFactory(creator=CreatorFactory(), name="Other tenant's list")
    rule = rule_create(creator=creator, data=body(integration))
    url = reverse("admin:segmentation_segmentationrule_change", args=[rule.pk])
    page = support.get(url).content.decode()
    assert "Other tenant&#x27;s list" not in page and "Other tenant's list" not in page
    actions = json.dumps([{"type": "add_tag", "integration": str(other.uuid), "tag": "vip"}])
    response = support.post(url, _form(rule, actions=actions, name="Edited"))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.name == "Edited"
    assert list(rule.integrations.all()) == [other]  # derived from the actions
