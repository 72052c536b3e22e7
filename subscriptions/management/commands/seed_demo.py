"""`manage.py seed_demo`: the demo workspace for `make run`. Safe to run again.

Each app may contribute demo data: a module `<app>/demo.py` with a function
`seed(creator: Creator) -> None` is called for the demo creator, in INSTALLED_APPS
order (so `subscriptions` runs before the apps built on it). Each `seed` must be
idempotent: running the command twice never duplicates anything.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Creator, Membership, Role, User

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 — a published demo login, local only


def demo_seeders() -> list[tuple[str, Callable[[Creator], None]]]:
    """`(app label, seed)` for every project app that ships a `demo.seed`."""
    found = []
    for config in apps.get_app_configs():
        if not config.path.startswith(str(settings.BASE_DIR)):
            continue
        module_name = f"{config.name}.demo"
        if importlib.util.find_spec(module_name) is None:
            continue
        seed = getattr(importlib.import_module(module_name), "seed", None)
        if callable(seed):
            found.append((config.label, seed))
    return found


def demo_creator() -> Creator:
    """The demo creator and its owner, who is also a superuser so the same login opens
    the dashboard and /admin/."""
    with transaction.atomic():
        creator, _ = Creator.objects.get_or_create(
            slug=DEMO_SLUG,
            defaults={"name": "Demo Creator", "time_zone": "America/Sao_Paulo", "locale": "en"},
        )
        user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_superuser(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        Membership.objects.get_or_create(creator=creator, user=user, defaults={"role": Role.OWNER})
    return creator


class Command(BaseCommand):
    help = "Create (or top up) the demo creator, its login and every app's demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        creator = demo_creator()
        for label, seed in demo_seeders():
            seed(creator)
            self.stdout.write(f"demo data: {label} ok")
        counts = creator.subscriptions.values_list("status").order_by("status")
        by_status: dict[str, int] = {}
        for (status,) in counts:
            by_status[status] = by_status.get(status, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
        self.stdout.write(f"demo creator {creator.slug!r}: {summary}")
        self.stdout.write(f"login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
