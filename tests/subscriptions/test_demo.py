from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import Creator, Membership
from notifications.models import Integration
from segmentation.models import SegmentationRule
from subscriptions.management.commands.seed_demo import demo_seeders
from subscriptions.models import Charge, Status, Subscription, SubscriptionEvent

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_seed_demo_covers_every_status_and_running_it_twice_duplicates_nothing(capsys):
    call_command("seed_demo")
    creator = Creator.objects.get(slug="demo")
    counts = (
        Subscription.objects.count(),
        Charge.objects.count(),
        SubscriptionEvent.objects.count(),
    )
    statuses = set(Subscription.objects.values_list("status", flat=True))
    assert statuses == set(Status.values)
    assert counts[0] >= 200
    # Subscribers in both languages, so the demo shows the Portuguese emails too.
    from subscriptions.models import Subscriber

    locales = Subscriber.objects.values_list("locale", flat=True)
    assert locales.filter(locale="pt-BR").count() >= 80
    assert locales.filter(locale="en").count() >= 80
    assert Subscription.objects.filter(
        status=Status.CANCELLED_BY_ADMIN, cancellation_reason="unpaid"
    ).exists()
    # Replayed history is already processed; only today's new imports wait for the worker.
    waiting = SubscriptionEvent.objects.filter(processed_at__isnull=True)
    assert not waiting.exclude(subscription__subscriber__email__startswith="renews.").exists()

    call_command("seed_demo")
    assert (
        Subscription.objects.count(),
        Charge.objects.count(),
        SubscriptionEvent.objects.count(),
    ) == counts
    assert Creator.objects.filter(slug="demo").count() == 1
    membership = Membership.objects.get(creator=creator)
    assert membership.role == "owner" and membership.user.is_superuser
    assert "login: demo@example.com / demo-password" in capsys.readouterr().out

    # The demo's rule runs on a sandbox integration, once, however often seed_demo runs.
    rule = SegmentationRule.objects.get(creator=creator)
    assert rule.is_active and rule.status == "ok"
    assert Integration.objects.get(creator=creator).status == "connected"

    assert membership.user.check_password("demo-password")
    client = Client()
    client.force_login(membership.user)
    assert client.get("/admin/").status_code == 200


def test_apps_contribute_demo_data_through_a_demo_module():
    labels = [label for label, _ in demo_seeders()]
    assert {"subscriptions", "notifications", "segmentation"} <= set(labels)
    assert labels.index("notifications") < labels.index("segmentation")
    assert labels.index("subscriptions") == min(labels.index(label) for label in labels)


def test_the_quick_start_database_migrates_and_seeds_on_sqlite(tmp_path):
    """`make run` without DATABASE_URL uses SQLite: every migration must apply there too
    (an index with NULLS LAST once broke it while the suite ran on PostgreSQL only)."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(VAR_DIR=str(tmp_path), CELERY_BROKER_URL="filesystem://")
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (tmp_path / "db.sqlite3").stat().st_size > 0
