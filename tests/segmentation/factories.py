from __future__ import annotations

import factory

from notifications.models import Integration
from tests.factories import CreatorFactory


class IntegrationFactory(factory.django.DjangoModelFactory[Integration]):
    class Meta:
        model = Integration

    creator = factory.SubFactory(CreatorFactory)
    provider = "testmail"
    name = factory.Sequence(lambda n: f"Test mail {n}")
    credentials = factory.LazyFunction(lambda: {"api_key": "test-key"})
    status = Integration.Status.CONNECTED
