import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts.services import creator_create


class Command(BaseCommand):
    help = 'Create a creator (tenant) and its owner; prints {"creator": id, "api_key": key}.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty")
        try:
            validate_email(options["owner_email"])
        except ValidationError as exc:
            raise CommandError(
                f"--owner-email is not a valid email: {options['owner_email']}"
            ) from exc
        try:
            created = creator_create(
                name=name, owner_email=options["owner_email"], password=options["password"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            json.dumps({"creator": str(created.creator.uuid), "api_key": created.api_key.raw_key})
        )
