"""Tenant-isolation cases (T1) of the dashboard's integration, webhook, segmentation,
reactivation and gateway pages; merged into tests/reliability/dashboard_cases.py's
registry by its `all_cases()`.

Provider calls (validating an integration, sending a rule's test, the builder's list and
tag dropdowns) go to the sandbox provider, which answers in process: no network, no
credentials.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from accounts.models import Creator
from dashboard.models import BulkJob
from notifications.models import Integration
from reactivation.models import Mode, ReactivationRequest
from reactivation.services import reactivation_request_create
from segmentation.models import SegmentationDelivery, SegmentationRule
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel
from tests.factories import MembershipFactory, actor_for, labelled_actor
from tests.notifications.factories import IntegrationFactory
from tests.reliability.dashboard_cases import (
    Built,
    Call,
    DashboardCase,
    _subscription,
    creator_page,
)
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

# --- builders -----------------------------------------------------------------------


def _integration(creator: Creator, marker: str) -> Integration:
    return IntegrationFactory.create(
        creator=creator,
        provider="sandbox",
        name=f"Integration {marker}",
        credentials={},
        status=Integration.Status.UNCHECKED,
    )


def integrations_page(creator: Creator, marker: str) -> Built:
    _subscription(creator, marker)
    return Built(refs={"integration": _integration(creator, marker), "creator": creator})


def integration_object(creator: Creator, marker: str) -> Built:
    built = integrations_page(creator, marker)
    return Built(kwargs={"uuid": str(built.refs["integration"].uuid)}, refs=built.refs)


def _endpoint(creator: Creator, marker: str) -> WebhookEndpoint:
    subscription = _subscription(creator, marker)
    endpoint = WebhookEndpointFactory.create(
        creator=creator,
        url=f"https://hooks-{marker}.example.com/receive",
        description=f"Endpoint {marker}",
    )
    event = subscription.events.get()
    WebhookDelivery.objects.create(
        creator=creator,
        endpoint=endpoint,
        event=event,
        event_type=event.type,
        payload={"note": marker},
        status=WebhookDelivery.Status.FAILED,
        last_error=f"refused {marker}",
    )
    return endpoint


def webhooks_page(creator: Creator, marker: str) -> Built:
    return Built(refs={"endpoint": _endpoint(creator, marker), "creator": creator})


def webhook_object(creator: Creator, marker: str) -> Built:
    built = webhooks_page(creator, marker)
    return Built(kwargs={"uuid": str(built.refs["endpoint"].uuid)}, refs=built.refs)


def webhook_delivery_object(creator: Creator, marker: str) -> Built:
    built = webhooks_page(creator, marker)
    delivery = built.refs["endpoint"].deliveries.get()
    return Built(kwargs={"uuid": str(delivery.uuid)}, refs={**built.refs, "delivery": delivery})


def _rule(creator: Creator, marker: str) -> SegmentationRule:
    subscription = _subscription(creator, marker)
    integration = _integration(creator, marker)
    action = {"type": "add_tag", "integration": str(integration.uuid), "tag": "churned"}
    rule = SegmentationRule.objects.create(
        creator=creator,
        name=f"Rule {marker}",
        triggers=["CANCELLED_BY_CUSTOMER"],
        actions=[action],
    )
    rule.integrations.add(integration)
    SegmentationDelivery.objects.create(
        creator=creator,
        rule=rule,
        event=subscription.events.get(),
        integration=integration,
        action_index=0,
        action_type="add_tag",
        action=action,
        contact_email=subscription.subscriber.email,
        contact_name=subscription.subscriber.name,
        status=SegmentationDelivery.Status.SUCCEEDED,
    )
    return rule


def segmentations_page(creator: Creator, marker: str) -> Built:
    rule = _rule(creator, marker)
    return Built(refs={"rule": rule, "integration": rule.integrations.get(), "creator": creator})


def segmentation_object(creator: Creator, marker: str) -> Built:
    built = segmentations_page(creator, marker)
    return Built(kwargs={"uuid": str(built.refs["rule"].uuid)}, refs=built.refs)


def _cancelled(creator: Creator, marker: str) -> Subscription:
    return subscription_cancel(
        subscription=_subscription(creator, marker), actor=actor_for("customer")
    )


def _reactivation_request(creator: Creator, marker: str) -> ReactivationRequest:
    return reactivation_request_create(
        subscription=_cancelled(creator, marker),
        mode=Mode.REACTIVATE,
        actor=labelled_actor(f"dashboard: {marker}"),
    )


def reactivation_requests_page(creator: Creator, marker: str) -> Built:
    return Built(refs={"request": _reactivation_request(creator, marker)})


def reactivation_request_object(creator: Creator, marker: str) -> Built:
    built = reactivation_requests_page(creator, marker)
    return Built(kwargs={"uuid": str(built.refs["request"].uuid)}, refs=built.refs)


def cancelled_subscription_object(creator: Creator, marker: str) -> Built:
    subscription = _cancelled(creator, marker)
    return Built(kwargs={"uuid": str(subscription.uuid)}, refs={"subscription": subscription})


def bulk_job_object(creator: Creator, marker: str) -> Built:
    subscription = _cancelled(creator, marker)
    user = MembershipFactory(creator=creator).user
    job = BulkJob.objects.create(
        creator=creator,
        action="reactivation_request",
        params={"mode": Mode.REACTIVATE, "subscriptions": [str(subscription.uuid)]},
        created_by=user,
    )
    return Built(kwargs={"uuid": str(job.uuid)}, refs={"job": job})


# --- form bodies --------------------------------------------------------------------


def _rule_body(built: Built, name: str = "Win back") -> dict[str, Any]:
    return {
        "name": name,
        "product": "",
        "triggers": ["CANCELLED_BY_CUSTOMER"],
        "match": "all",
        "is_active": "on",
        "cond_keys": ["c1"],
        "cond-c1-field": "recurrence",
        "cond-c1-op": "gte",
        "cond-c1-value": "1",
        "act_keys": ["a1"],
        "act-a1-type": "add_tag",
        "act-a1-integration": str(built.refs["integration"].uuid),
        "act-a1-tag": "vip",
    }


def _preview_body(built: Built) -> dict[str, Any]:
    # Every creator has one active subscription; the preview counts the caller's only.
    return {"name": "", "product": "", "triggers": ["ACTIVE"], "match": "all"}


def _endpoint_body(built: Built) -> dict[str, Any]:
    return {
        "url": "https://hooks.example.com/changed",
        "description": "Changed",
        "all_events": "on",
        "is_active": "on",
    }


# --- checks -------------------------------------------------------------------------


def _owner_only(role: str, happened: bool, what: str) -> None:
    assert happened == (role == "owner"), (role, what, happened)


def _integration_created_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    made = Integration.objects.filter(creator=built.refs["creator"], name="Connected")
    _owner_only(role, made.exists(), "integration created")


def _integration_checked_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    integration = built.refs["integration"]
    integration.refresh_from_db()
    _owner_only(role, integration.last_checked_at is not None, "integration validated")


def _integration_renamed_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    integration = built.refs["integration"]
    integration.refresh_from_db()
    _owner_only(role, integration.name == "Renamed", "integration renamed")


def _integration_deleted_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    gone = not Integration.objects.filter(pk=built.refs["integration"].pk).exists()
    _owner_only(role, gone, "integration deleted")


def _endpoint_created_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    made = WebhookEndpoint.objects.filter(creator=built.refs["creator"], description="Changed")
    _owner_only(role, made.exists(), "endpoint created")


def _endpoint_changed_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    endpoint = built.refs["endpoint"]
    endpoint.refresh_from_db()
    _owner_only(role, endpoint.description == "Changed", "endpoint changed")


def _endpoint_deleted_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    gone = not WebhookEndpoint.objects.filter(pk=built.refs["endpoint"].pk).exists()
    _owner_only(role, gone, "endpoint deleted")


def _test_sent_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    sent = WebhookDelivery.objects.filter(endpoint=built.refs["endpoint"], event=None).exists()
    _owner_only(role, sent, "test event queued")


def _replayed_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    delivery = built.refs["delivery"]
    delivery.refresh_from_db()
    _owner_only(role, delivery.status != WebhookDelivery.Status.FAILED, "delivery replayed")


def _rule_created_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    made = SegmentationRule.objects.filter(creator=built.refs["creator"], name="Win back")
    _owner_only(role, made.exists(), "rule created")


def _rule_saved_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    rule = built.refs["rule"]
    rule.refresh_from_db()
    _owner_only(role, rule.name == "Renamed rule", "rule saved")


def _rule_toggled_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    rule = built.refs["rule"]
    rule.refresh_from_db()
    _owner_only(role, not rule.is_active, "rule switched off")


def _rule_deleted_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    gone = not SegmentationRule.objects.filter(pk=built.refs["rule"].pk).exists()
    _owner_only(role, gone, "rule deleted")


def _rule_tested_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    tested = SegmentationDelivery.objects.filter(rule=built.refs["rule"], is_test=True)
    _owner_only(role, tested.exists(), "rule tested")


def _preview_counts_own_rows(role: str, response: HttpResponse, built: Built) -> None:
    # Counting across tenants would say 2.
    assert 'data-matching="1"' in response.content.decode(), (role, response.content)


def _request_sent_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    sent = ReactivationRequest.objects.filter(subscription=built.refs["subscription"]).exists()
    _owner_only(role, sent, "reactivation requested")


def _resent_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    # A resend supersedes the request with a new one (a new link).
    sent = ReactivationRequest.objects.filter(subscription=built.refs["request"].subscription_id)
    _owner_only(role, sent.count() == 2, "request resent")


def _revoked_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    found = built.refs["request"]
    found.refresh_from_db()
    _owner_only(role, found.status == ReactivationRequest.Status.SUPERSEDED, "request revoked")


def _gateway_saved_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    # A saved configuration clears the earlier gateway error.
    creator = built.refs["creator"]
    creator.refresh_from_db()
    _owner_only(role, creator.gateway_error == "", "gateway saved")


def gateway_page(creator: Creator, marker: str) -> Built:
    creator.gateway_error = "Stripe refused the key."
    creator.gateway_error_at = timezone.now()
    creator.save(update_fields=["gateway_error", "gateway_error_at"])
    return creator_page(creator, marker)


CASES: dict[str, DashboardCase] = {
    # --- integrations ---
    "dashboard:integrations": DashboardCase(
        build=integrations_page, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:integration_connect": DashboardCase(
        build=integrations_page,
        calls={
            "get": Call(),
            # Names no object of the creator: an outsider connects their own.
            "post": Call(
                ok=302,
                data=lambda b: {"provider": "sandbox", "name": "Connected"},
                outsider=302,
                check=_integration_created_only_by_owner,
            ),
        },
    ),
    "dashboard:integration_validate": DashboardCase(
        build=integration_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_integration_checked_only_by_owner)},
    ),
    "dashboard:integration_rename": DashboardCase(
        build=integration_object,
        calls={
            "post": Call(
                ok=302, data=lambda b: {"name": "Renamed"}, check=_integration_renamed_only_by_owner
            )
        },
    ),
    # OAuth providers only: the sandbox integration answers with a message, no redirect
    # to a provider; what matters here is who may ask.
    "dashboard:integration_authorize": DashboardCase(
        build=integration_object, calls={"post": Call(ok=302, data=lambda b: {})}
    ),
    # Without a valid signed state nothing is looked up (the state's own checks are in
    # tests/dashboard/test_integrations_oauth.py).
    "dashboard:integration_oauth_callback": DashboardCase(
        build=integrations_page, calls={"get": Call(ok=302)}
    ),
    "dashboard:integration_contact_status": DashboardCase(
        build=integration_object,
        calls={"post": Call(ok=302, data=lambda b: {"new_contact_status": "subscribed"})},
    ),
    "dashboard:integration_disconnect": DashboardCase(
        build=integration_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_integration_deleted_only_by_owner)},
    ),
    # --- webhooks ---
    "dashboard:webhooks": DashboardCase(
        build=webhooks_page, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:webhook_create": DashboardCase(
        build=webhooks_page,
        calls={
            "get": Call(),
            "post": Call(
                ok=201,
                data=_endpoint_body,
                outsider=201,
                check=_endpoint_created_only_by_owner,
            ),
        },
    ),
    "dashboard:webhook_detail": DashboardCase(
        build=webhook_object,
        calls={
            "get": Call(shows_own_rows=True),
            "post": Call(ok=302, data=_endpoint_body, check=_endpoint_changed_only_by_owner),
        },
    ),
    "dashboard:webhook_delete": DashboardCase(
        build=webhook_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_endpoint_deleted_only_by_owner)},
    ),
    "dashboard:webhook_test": DashboardCase(
        build=webhook_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_test_sent_only_by_owner)},
    ),
    "dashboard:webhook_replay": DashboardCase(
        build=webhook_delivery_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_replayed_only_by_owner)},
    ),
    # --- segmentation ---
    "dashboard:segmentations": DashboardCase(
        build=segmentations_page, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:segmentation_create": DashboardCase(
        build=segmentations_page,
        calls={
            "get": Call(shows_own_rows=True),  # the integration dropdown
            # The body names the creator's integration: in the outsider's creator it is
            # not found, and the builder says so.
            "post": Call(ok=302, data=_rule_body, outsider=400, check=_rule_created_only_by_owner),
        },
    ),
    "dashboard:segmentation_preview": DashboardCase(
        build=segmentations_page,
        calls={
            "post": Call(
                data=_preview_body, write=False, outsider=200, check=_preview_counts_own_rows
            )
        },
    ),
    "dashboard:segmentation_row": DashboardCase(build=segmentations_page, calls={"get": Call()}),
    "dashboard:segmentation_edit": DashboardCase(
        build=segmentation_object,
        calls={
            "get": Call(shows_own_rows=True),
            "post": Call(
                ok=302,
                data=lambda b: _rule_body(b, name="Renamed rule"),
                check=_rule_saved_only_by_owner,
            ),
        },
    ),
    "dashboard:segmentation_toggle": DashboardCase(
        build=segmentation_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_rule_toggled_only_by_owner)},
    ),
    "dashboard:segmentation_delete": DashboardCase(
        build=segmentation_object,
        calls={
            "get": Call(shows_own_rows=True),
            "post": Call(ok=302, data=lambda b: {}, check=_rule_deleted_only_by_owner),
        },
    ),
    "dashboard:segmentation_test": DashboardCase(
        build=segmentation_object,
        calls={
            "post": Call(
                data=lambda b: {"email": "test@example.com"}, check=_rule_tested_only_by_owner
            )
        },
    ),
    "dashboard:segmentation_deliveries": DashboardCase(
        build=segmentation_object, calls={"get": Call(shows_own_rows=True)}
    ),
    # --- reactivation ---
    "dashboard:reactivation_requests": DashboardCase(
        build=reactivation_requests_page, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:reactivation_request": DashboardCase(
        build=cancelled_subscription_object,
        calls={
            "post": Call(
                ok=302, data=lambda b: {"mode": Mode.REACTIVATE}, check=_request_sent_only_by_owner
            )
        },
    ),
    "dashboard:reactivation_resend": DashboardCase(
        build=reactivation_request_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_resent_only_by_owner)},
    ),
    "dashboard:reactivation_revoke": DashboardCase(
        build=reactivation_request_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_revoked_only_by_owner)},
    ),
    "dashboard:reactivation_bulk": DashboardCase(build=bulk_job_object, calls={"get": Call()}),
    # --- settings ---
    "dashboard:settings_gateway": DashboardCase(
        build=gateway_page,
        calls={
            # Names no object: an outsider configures their own creator's gateway.
            "post": Call(
                ok=302,
                data=lambda b: {"gateway": "sandbox"},
                outsider=302,
                check=_gateway_saved_only_by_owner,
            )
        },
    ),
}
