"""Trigram indexes for the support admin's partial search on subscriber email and name
(`carla.rocha` finds carla.rocha82@example.com among millions of rows).

The expressions match what Django writes for `icontains` on PostgreSQL,
`UPPER("email"::text) LIKE UPPER('%term%')`, so the planner can use them. Built
CONCURRENTLY (no table lock on a live database), hence a non-atomic migration. Not part
of the model state: they exist on PostgreSQL only (SQLite has no trigram index).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "subscriber_email_trgm": "UPPER(email::text)",
    "subscriber_name_trgm": "UPPER(name::text)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON subscriptions_subscriber USING gin ({expression} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("subscriptions", "0007_recovery_event_types"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
