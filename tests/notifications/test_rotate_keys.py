from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from notifications.models import Integration
from tests.factories import CreatorFactory
from tests.notifications.factories import IntegrationFactory
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def test_rotation_re_encrypts_every_encrypted_field_with_the_first_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    integration = IntegrationFactory()
    endpoint = WebhookEndpointFactory()
    creator = CreatorFactory(gateway_credentials={"secret_key": "sk_test_123"})
    before = _raw("notifications_integration", "credentials", integration.pk)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    assert _raw("notifications_integration", "credentials", integration.pk) != before

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone: everything still reads
    assert Integration.objects.get(pk=integration.pk).credentials == integration.credentials
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret
    creator.refresh_from_db()
    assert creator.gateway_credentials == {"secret_key": "sk_test_123"}
    assert "sk_test_123" not in _raw("accounts_creator", "gateway_credentials", creator.pk)
