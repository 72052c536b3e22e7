"""Rules are refused on save with a message that names the bad row (SPEC §8.1)."""

from __future__ import annotations

from typing import Any

import pytest

from segmentation.services import rule_create, rule_update
from segmentation.validation import RuleInvalid
from tests.api_helpers import api_client
from tests.factories import PlanFactory, ProductFactory
from tests.segmentation.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def body(integration: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "name": "Win back",
        "product": None,
        "triggers": ["CANCELLED_BY_CUSTOMER"],
        "match": "all",
        "conditions": [],
        "actions": [{"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}],
    }
    data.update(changes)
    return data


def refused(creator: Any, data: dict[str, Any]) -> list[str]:
    with pytest.raises(RuleInvalid) as caught:
        rule_create(creator=creator, data=data)
    return caught.value.lines


@pytest.fixture
def integration(creator):  # type: ignore[no-untyped-def]
    return IntegrationFactory(creator=creator)


def test_a_valid_rule_is_saved_in_its_clean_form(creator, integration):
    plan = PlanFactory(creator=creator, product__creator=creator)
    rule = rule_create(
        creator=creator,
        data=body(
            integration,
            conditions=[
                {"field": "price", "op": "gte", "value": "10.5"},
                {"field": "currency", "op": "eq", "value": "brl"},
                {"field": "plan", "op": "in", "value": [str(plan.uuid)]},
                {"field": "cancellation_reason", "op": "is_empty"},
            ],
        ),
    )
    assert rule.conditions[0]["value"] == "10.5"
    assert rule.conditions[1]["value"] == "BRL"
    assert rule.conditions[3] == {"field": "cancellation_reason", "op": "is_empty", "value": None}
    assert rule.trigger_keys == "|CANCELLED_BY_CUSTOMER|"
    assert list(rule.integrations.all()) == [integration]


def test_operator_that_does_not_fit_the_field_names_the_row(creator, integration):
    conditions = [
        {"field": "price", "op": "gt", "value": 1},
        {"field": "period", "op": "eq", "value": "monthly"},
        {"field": "subscriber.email", "op": "gt", "value": "a"},
    ]
    assert refused(creator, body(integration, conditions=conditions)) == [
        "conditions[2]: operator 'gt' does not apply to text field 'subscriber.email'"
    ]


def test_unknown_field_names_the_row(creator, integration):
    lines = refused(
        creator, body(integration, conditions=[{"field": "age", "op": "eq", "value": 1}])
    )
    assert lines[0].startswith("conditions[0]: unknown field 'age'")


def test_value_of_the_wrong_type_names_the_row(creator, integration):
    conditions = [
        {"field": "recurrence", "op": "gte", "value": "three"},
        {"field": "price", "op": "lt", "value": "cheap"},
        {"field": "period", "op": "in", "value": ["monthly", "fortnightly"]},
    ]
    assert refused(creator, body(integration, conditions=conditions)) == [
        "conditions[0]: field 'recurrence' takes a whole number, not 'three'",
        "conditions[1]: field 'price' takes a decimal number, not 'cheap'",
        "conditions[2]: value 'fortnightly' is not one of weekly, monthly, bimonthly, "
        "quarterly, semiannual, yearly for field 'period'",
    ]


def test_unknown_trigger_names_the_row(creator, integration):
    lines = refused(creator, body(integration, triggers=["ACTIVE", "charge.exploded"]))
    assert lines[0].startswith("triggers[1]: unknown trigger 'charge.exploded'")


def test_another_tenants_integration_is_an_unknown_integration(creator, integration):
    foreign = IntegrationFactory()
    missing = "00000000-0000-0000-0000-000000000000"
    for uuid in (str(foreign.uuid), missing):
        action = {"type": "add_tag", "integration": uuid, "tag": "x"}
        assert refused(creator, body(integration, actions=[action])) == [
            f"actions[0]: unknown integration '{uuid}'"
        ]


def test_list_actions_need_a_list(creator, integration):
    action = {"type": "add_to_list", "integration": str(integration.uuid)}
    assert refused(creator, body(integration, actions=[action])) == [
        "actions[0]: add_to_list needs 'list' (choose the list)"
    ]


def test_tag_actions_need_a_tag(creator, integration):
    action = {"type": "remove_tag", "integration": str(integration.uuid), "tag": "  "}
    assert refused(creator, body(integration, actions=[action])) == [
        "actions[0]: remove_tag needs 'tag'"
    ]


def test_providers_with_tags_inside_lists_need_both(creator, integration):
    audience = IntegrationFactory(creator=creator, provider="testaudience")
    actions = [
        {"type": "add_tag", "integration": str(integration.uuid), "tag": "ok"},
        {"type": "add_tag", "integration": str(audience.uuid), "tag": "vip"},
    ]
    assert refused(creator, body(integration, actions=actions)) == [
        "actions[1]: add_tag needs 'list' (testaudience keeps tags inside a list: "
        "choose the list too)"
    ]
    actions[1]["list"] = "aud-1"
    rule = rule_create(creator=creator, data=body(integration, actions=actions))
    assert rule.actions[1] == {
        "type": "add_tag",
        "integration": str(audience.uuid),
        "list": "aud-1",
        "tag": "vip",
    }


def test_send_email_needs_subject_body_and_known_placeholders(creator, integration):
    actions = [
        {"type": "send_email", "subject": "Hi {{ subscriber.name }}", "body": ""},
        {"type": "send_email", "subject": "Hi", "body": "{{ subscriber.password }}"},
    ]
    lines = refused(creator, body(integration, actions=actions))
    assert lines[0] == "actions[0]: send_email needs a 'body' of at most 20000 characters"
    assert lines[1].startswith(
        "actions[1]: unknown placeholder {{ subscriber.password }} in body; "
        "use {{ subscriber.name }}"
    )


def test_another_tenants_product_and_plan_are_unknown(creator, integration):
    product, plan = ProductFactory(), PlanFactory()
    lines = refused(
        creator,
        body(
            integration,
            product=str(product.uuid),
            conditions=[{"field": "plan", "op": "eq", "value": str(plan.uuid)}],
        ),
    )
    assert lines == [
        f"product: unknown product '{product.uuid}'",
        f"conditions[0]: unknown plan '{plan.uuid}'",
    ]


def test_update_validates_the_merged_rule(creator, integration):
    rule = rule_create(creator=creator, data=body(integration))
    with pytest.raises(RuleInvalid) as caught:
        rule_update(
            rule=rule, data={"conditions": [{"field": "period", "op": "contains", "value": "m"}]}
        )
    assert caught.value.lines == [
        "conditions[0]: operator 'contains' does not apply to choice field 'period'"
    ]


def test_the_api_answers_400_with_the_row_in_the_message(creator, integration):
    data = body(integration, conditions=[{"field": "subscriber.email", "op": "gt", "value": "a"}])
    response = api_client(creator).post("/api/v1/segmentations", data, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == (
        "conditions[0]: operator 'gt' does not apply to text field 'subscriber.email'"
    )
    assert error["details"] == {
        "conditions[0]": ["operator 'gt' does not apply to text field 'subscriber.email'"]
    }
