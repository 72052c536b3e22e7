from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core import scheduling


class Command(BaseCommand):
    help = "Run every periodic job once (renewals, retries, expiries, outbox sweep, webhooks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", action="append", help="Run only this job (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        selected = options.get("job")
        for name, job in scheduling.jobs().items():
            if selected and name not in selected:
                continue
            handled = job.func()
            self.stdout.write(f"{name}: {handled}")
