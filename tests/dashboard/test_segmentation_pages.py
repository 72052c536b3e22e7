from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Integration
from segmentation.models import SegmentationDelivery, SegmentationRule
from segmentation.services import rule_create
from subscriptions.models import Status
from tests.dashboard.fake_activecampaign import activecampaign
from tests.factories import PlanFactory, SubscriptionFactory
from tests.notifications.providers.fakes import Reply


@pytest.fixture
def ac(settings):
    with activecampaign(settings) as server:
        yield server


@pytest.fixture
def integration(creator, ac):
    return Integration.objects.create(
        creator=creator,
        provider="activecampaign",
        name="AC",
        credentials={"api_url": "https://acme.api-us1.com", "api_key": "k"},
        status=Integration.Status.CONNECTED,
    )


def builder_post(integration, **overrides):
    data = {
        "name": "Win back",
        "product": "",
        "triggers": ["CANCELLED_BY_CUSTOMER"],
        "match": "all",
        "is_active": "on",
        "cond_keys": ["c1"],
        "cond-c1-field": "recurrence",
        "cond-c1-op": "gte",
        "cond-c1-value": "2",
        "act_keys": ["a1"],
        "act-a1-type": "add_tag",
        "act-a1-integration": str(integration.uuid),
        "act-a1-tag": "churned",
    }
    data.update(overrides)
    return data


def test_builder_creates_a_rule(creator, owner, login, integration):
    client = login(owner)
    page = client.get(reverse("dashboard:segmentation_create")).content.decode()
    assert 'id="add-condition"' in page and 'id="rule-preview"' in page
    response = client.post(reverse("dashboard:segmentation_create"), builder_post(integration))
    assert response.status_code == 302
    rule = SegmentationRule.objects.get(creator=creator)
    assert rule.conditions == [{"field": "recurrence", "op": "gte", "value": 2}]
    assert rule.actions == [
        {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}
    ]
    edit = client.get(response["Location"]).content.decode()
    assert 'value="churned"' in edit and 'id="rule-send-test"' in edit


def test_errors_are_shown_next_to_the_row_they_name(creator, owner, login, integration):
    data = builder_post(
        integration,
        cond_keys=["c1", "c2"],
        **{"cond-c2-field": "price", "cond-c2-op": "gt", "cond-c2-value": "lots"},
    )
    response = login(owner).post(reverse("dashboard:segmentation_create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    second_row = html[html.index('id="cond-c2"') :]
    second_row = second_row[: second_row.index("</fieldset>")]
    assert "takes a decimal number" in second_row
    first_row = html[html.index('id="cond-c1"') :]
    assert "takes a decimal number" not in first_row[: first_row.index("</fieldset>")]
    assert not SegmentationRule.objects.exists()


def test_rows_are_added_and_re_rendered_by_htmx(creator, owner, login, integration):
    client = login(owner)
    row = client.get(reverse("dashboard:segmentation_row") + "?kind=condition")
    assert row.status_code == 200 and row["HX-Trigger-After-Swap"] == "rowsChanged"
    assert 'name="cond_keys"' in row.content.decode()
    # Choosing a text field offers text operators.
    changed = client.get(
        reverse("dashboard:segmentation_row"),
        {
            "kind": "condition",
            "key": "k1",
            "cond-k1-field": "subscriber.email",
            "cond-k1-op": "gte",
        },
    ).content.decode()
    assert 'value="contains"' in changed and 'value="gte"' not in changed
    # An action's list dropdown comes from the provider.
    action = client.get(
        reverse("dashboard:segmentation_row"),
        {
            "kind": "action",
            "key": "a",
            "act-a-type": "add_to_list",
            "act-a-integration": str(integration.uuid),
        },
    ).content.decode()
    assert ">Customers</option>" in action and ">Newsletter</option>" in action
    tags = client.get(
        reverse("dashboard:segmentation_row"),
        {
            "kind": "action",
            "key": "a",
            "act-a-type": "add_tag",
            "act-a-integration": str(integration.uuid),
        },
    ).content.decode()
    assert '<option value="churned">' in tags
    assert "ActiveCampaign creates it on first use." in tags
    removing = client.get(
        reverse("dashboard:segmentation_row"),
        {
            "kind": "action",
            "key": "a",
            "act-a-type": "remove_tag",
            "act-a-integration": str(integration.uuid),
        },
    ).content.decode()
    assert "Contacts without it are left alone." in removing
    removed = client.get(reverse("dashboard:segmentation_row") + "?remove=1")
    assert removed.content == b"" and removed["HX-Trigger-After-Swap"] == "rowsChanged"


def test_live_preview_counts(creator, owner, login, integration):
    plan = PlanFactory(product__creator=creator, creator=creator)
    SubscriptionFactory(
        creator=creator, plan=plan, status=Status.CANCELLED_BY_CUSTOMER, recurrence=3
    )
    SubscriptionFactory(
        creator=creator, plan=plan, status=Status.CANCELLED_BY_CUSTOMER, recurrence=1
    )
    SubscriptionFactory(creator=creator, plan=plan, status=Status.ACTIVE, recurrence=5)
    html = (
        login(owner)
        .post(reverse("dashboard:segmentation_preview"), builder_post(integration))
        .content.decode()
    )
    assert 'data-matching="1"' in html and "1 current subscription matches" in html
    invalid = (
        login(owner)
        .post(reverse("dashboard:segmentation_preview"), builder_post(integration, triggers=[]))
        .content.decode()
    )
    assert "Choose at least one trigger" in invalid


def make_rule(creator, integration, name="Rule"):
    return rule_create(
        creator=creator,
        data={
            "name": name,
            "triggers": ["CANCELLED_BY_CUSTOMER"],
            "actions": [{"type": "add_tag", "integration": str(integration.uuid), "tag": "x"}],
        },
    )


def test_toggle_send_test_and_delete(creator, owner, login, integration, ac):
    rule = make_rule(creator, integration)
    client = login(owner)
    row = client.post(
        reverse("dashboard:segmentation_toggle", args=[rule.uuid]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'aria-checked="false"' in row
    rule.refresh_from_db()
    assert not rule.is_active
    result = client.post(
        reverse("dashboard:segmentation_test", args=[rule.uuid]),
        {"email": "probe@example.com"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'id="test-result-0"' in result and "OK" in result
    assert ac.calls_to("POST", "/api/3/contactTags")
    ac.fail_next(Reply(422, {"message": "bad tag"}), path_prefix="/api/3/contactTags")
    failed = client.post(
        reverse("dashboard:segmentation_test", args=[rule.uuid]),
        {"email": "p@example.com"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "HTTP 422" in failed
    confirm = client.get(reverse("dashboard:segmentation_delete", args=[rule.uuid]))
    assert 'id="rule-delete-confirm"' in confirm.content.decode()
    client.post(reverse("dashboard:segmentation_delete", args=[rule.uuid]))
    assert not SegmentationRule.objects.filter(pk=rule.pk).exists()


def test_list_shows_alert_and_figures(creator, owner, login, integration):
    rule = make_rule(creator, integration, "Flagged")
    SegmentationRule.objects.filter(pk=rule.pk).update(status="error", last_error="HTTP 404: gone")
    SegmentationDelivery.objects.create(
        creator=creator,
        rule=rule,
        action_index=0,
        action_type="add_tag",
        contact_email="a@example.com",
        status="succeeded",
    )
    html = login(owner).get(reverse("dashboard:segmentations")).content.decode()
    assert "HTTP 404: gone" in html and "Flagged" in html
    overview = login(owner).get(reverse("dashboard:overview")).content.decode()
    assert 'data-outcome="succeeded">1<' in overview and "HTTP 404: gone" in overview


def test_segmentation_roles(creator, viewer, outsider, login, integration):
    rule = make_rule(creator, integration)
    html = login(viewer).get(reverse("dashboard:segmentations")).content.decode()
    assert 'id="rule-create"' not in html and "toggle-" not in html
    edit = login(viewer).get(reverse("dashboard:segmentation_edit", args=[rule.uuid])).content
    assert b'id="rule-save"' not in edit and b'id="rule-send-test"' not in edit
    for name in (
        "segmentation_toggle",
        "segmentation_test",
        "segmentation_delete",
        "segmentation_edit",
    ):
        url = reverse(f"dashboard:{name}", args=[rule.uuid])
        assert login(viewer).post(url).status_code == 403
        assert login(outsider).post(url).status_code == 404
    assert login(viewer).post(reverse("dashboard:segmentation_create"), {}).status_code == 403


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_rule_list_and_deliveries_query_counts(creator, owner, login, integration):
    client = login(owner)
    rule = make_rule(creator, integration)

    def deliveries(n):
        SegmentationDelivery.objects.bulk_create(
            SegmentationDelivery(
                creator=creator,
                rule=rule,
                integration=integration,
                action_index=0,
                action_type="add_tag",
                contact_email="a@example.com",
                status="failed",
            )
            for _ in range(n)
        )

    deliveries(1)
    url = reverse("dashboard:segmentation_deliveries", args=[rule.uuid])
    one_list, one_log = queries(client, reverse("dashboard:segmentations")), queries(client, url)
    for i in range(49):
        make_rule(creator, integration, f"Rule {i}")
    deliveries(49)
    assert queries(client, reverse("dashboard:segmentations")) == one_list
    assert queries(client, url) == one_log


def test_the_tag_hint_says_brevo_has_no_tags(creator, owner, login):
    brevo = Integration.objects.create(
        creator=creator,
        provider="brevo",
        name="Brevo",
        credentials={"api_key": "k"},
        status=Integration.Status.CONNECTED,
    )
    row = (
        login(owner)
        .get(
            reverse("dashboard:segmentation_row"),
            {
                "kind": "action",
                "key": "a",
                "act-a-type": "add_tag",
                "act-a-integration": str(brevo.uuid),
            },
        )
        .content.decode()
    )
    assert "Brevo has no contact tags: use a list action instead." in row
