"""A rule's delivery to RD Station Marketing across its OAuth token's life: an expired
access token is renewed inside the delivery (and stored), a refused renewal marks the
integration and the rules using it, and authorizing again clears the alert."""

from __future__ import annotations

import pytest

from notifications.models import Integration
from notifications.services import integration_oauth_complete
from segmentation import services
from segmentation.consumer import deliveries_create_for_event as segmentation_consume
from segmentation.models import SegmentationDelivery
from tests.notifications.providers.fakes.rdstation import RDStationFake
from tests.segmentation.factories import IntegrationFactory
from tests.segmentation.test_services import cancel, make_rule

pytestmark = pytest.mark.django_db
S = SegmentationDelivery.Status


@pytest.fixture
def rd(settings):  # type: ignore[no-untyped-def]
    with RDStationFake() as server:
        settings.PROVIDER_BASE_URLS = {"rdstation": server.url}
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        yield server


def _deliver(creator, rd, email):  # type: ignore[no-untyped-def]
    event = cancel(creator, subscriber__email=email)
    segmentation_consume(event)
    delivery = SegmentationDelivery.objects.get(event=event)
    return services.delivery_attempt(delivery_id=delivery.pk), delivery


def test_an_expired_access_token_is_renewed_within_the_delivery(creator, rd):
    integration = IntegrationFactory(
        creator=creator, provider="rdstation", credentials={**rd.credentials(), "expires_at": "1"}
    )
    make_rule(creator, integration)
    outcome, _ = _deliver(creator, rd, "ana@example.com")
    assert outcome == S.SUCCEEDED
    assert rd.people["ana@example.com"]["tags"] == ["churned"]
    stored = Integration.objects.get(pk=integration.pk).credentials
    assert stored["refresh_token"] == rd.refresh_token and rd.renewals == 1


def test_a_refused_renewal_marks_the_integration_until_authorized_again(creator, rd):
    integration = IntegrationFactory(
        creator=creator, provider="rdstation", credentials={**rd.credentials(), "expires_at": "1"}
    )
    rule = make_rule(creator, integration)
    rd.refresh_token = "revoked-at-rd"
    outcome, delivery = _deliver(creator, rd, "ana@example.com")
    assert outcome == S.FAILED
    delivery.refresh_from_db()
    assert delivery.provider_status == 401
    integration.refresh_from_db()
    rule.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert "Authorize again from the integration page" in integration.last_error
    assert rule.status == "error"
    assert rd.people == {}  # nothing reached RD with a dead token

    rd.codes.add("fresh-code")
    integration_oauth_complete(
        integration=integration, code="fresh-code", redirect_uri="https://x.test/cb"
    )
    integration.refresh_from_db()
    rule.refresh_from_db()
    assert integration.status == Integration.Status.CONNECTED
    assert (rule.status, rule.last_error) == ("ok", "")
