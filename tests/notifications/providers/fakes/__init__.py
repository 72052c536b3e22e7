"""Spec-built fake providers, one per adapter, registered here. The property tests and
the segmentation end-to-end test run once per entry: a new provider adds its fake
module and one line below."""

from __future__ import annotations

from tests.notifications.providers.fakes.activecampaign import ActiveCampaignFake
from tests.notifications.providers.fakes.base import ContactView, FakeProvider, Reply
from tests.notifications.providers.fakes.brevo import BrevoFake
from tests.notifications.providers.fakes.kit import KitFake
from tests.notifications.providers.fakes.mailchimp import MailchimpFake
from tests.notifications.providers.fakes.mailerlite import MailerLiteFake
from tests.notifications.providers.fakes.rdstation import RDStationFake

FAKES: dict[str, type[FakeProvider]] = {
    "mailchimp": MailchimpFake,
    "activecampaign": ActiveCampaignFake,
    "brevo": BrevoFake,
    "mailerlite": MailerLiteFake,
    "kit": KitFake,
    "rdstation": RDStationFake,
}

__all__ = ["FAKES", "ContactView", "FakeProvider", "Reply"]
