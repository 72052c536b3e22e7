from __future__ import annotations

import uuid

import factory

from notifications.models import Integration
from tests.factories import CreatorFactory


def mailchimp_key() -> str:
    return f"{uuid.uuid4().hex}-us21"


class IntegrationFactory(factory.django.DjangoModelFactory[Integration]):
    class Meta:
        model = Integration

    creator = factory.SubFactory(CreatorFactory)
    provider = "brevo"
    name = factory.Sequence(lambda n: f"Integration {n}")
    # A fresh key per integration: rate-limit buckets are per account (key), so tests
    # never wait on each other's budget.
    credentials = factory.LazyAttribute(
        lambda o: {
            "mailchimp": {"api_key": mailchimp_key()},
            "activecampaign": {
                "api_url": "https://example.api-us1.com",
                "api_key": f"ac-{uuid.uuid4().hex}",
            },
            "brevo": {"api_key": f"xkeysib-{uuid.uuid4().hex}"},
            "mailerlite": {"api_key": f"ml-{uuid.uuid4().hex}"},
            "kit": {"api_key": f"kit_{uuid.uuid4().hex}"},
            # Tokens as the authorization flow leaves them (tests set real ones).
            "rdstation": {
                "client_id": f"app-{uuid.uuid4().hex[:12]}",
                "client_secret": f"secret-{uuid.uuid4().hex}",
                "access_token": f"at-{uuid.uuid4().hex}",
                "refresh_token": f"rt-{uuid.uuid4().hex}",
                "expires_at": "4102444800",  # 2100-01-01
            },
        }[o.provider]
    )
