"""Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first (`FIELD_ENCRYPTION_KEYS=new,old`), deploy, run this
command, then remove the old key. Every model field that is an EncryptedJSONField is
covered (integration credentials, gateway credentials, webhook secrets).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.crypto import EncryptedJSONField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedJSONField)]
            if not fields:
                continue
            count = 0
            last_pk: Any = None
            while True:
                queryset = model._default_manager.order_by("pk")
                if last_pk is not None:
                    queryset = queryset.filter(pk__gt=last_pk)
                rows = list(queryset.values_list("pk", *fields)[:batch_size])
                if not rows:
                    break
                with transaction.atomic():
                    for pk, *values in rows:
                        # Values come decrypted (any key); saving encrypts with the first.
                        plain = dict(zip(fields, values, strict=True))
                        model._default_manager.filter(pk=pk).update(**plain)
                count += len(rows)
                last_pk = rows[-1][0]
            label = f"{model._meta.label}.{','.join(fields)}"
            self.stdout.write(f"{label}: {count} rows re-encrypted")
