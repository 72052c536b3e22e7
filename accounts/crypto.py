"""Encryption at rest for credentials (integration keys, gateway secrets).

Keys come from `settings.FIELD_ENCRYPTION_KEYS`; the first encrypts and every key
decrypts, so a key is rotated by prepending a new one and re-encrypting.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_json(value: Any) -> str:
    return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        # Never include the ciphertext or key material in the message.
        raise ImproperlyConfigured(
            "stored credentials cannot be decrypted with the configured keys"
        ) from exc


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token. Decrypted on load, encrypted on save."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return {}
        return decrypt_json(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            if not value:
                return {}
            try:
                return decrypt_json(value)
            except ImproperlyConfigured:
                return json.loads(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            value = {}
        return encrypt_json(value)

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata) keeps the ciphertext, never the plain text.
        return self.get_prep_value(self.value_from_object(obj))
