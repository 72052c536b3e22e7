from __future__ import annotations

import factory

from tests.factories import CreatorFactory
from webhooks.models import WebhookEndpoint
from webhooks.signing import secret_generate


class WebhookEndpointFactory(factory.django.DjangoModelFactory[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint

    creator = factory.SubFactory(CreatorFactory)
    url = "https://hooks.example.com/receive"
    events = factory.LazyFunction(lambda: ["*"])
    secret = factory.LazyFunction(secret_generate)
