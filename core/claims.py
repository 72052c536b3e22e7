"""One conditional claim: `UPDATE … WHERE id IN (…) AND <still claimable> RETURNING …`.

A job or task that sends something claims its rows first (STYLE §6): the UPDATE only
touches rows that still meet `where`, so two workers never claim the same row, and
RETURNING says which rows this worker got in the same round trip (the ORM's `update()`
only counts them; a locking SELECT and an UPDATE in a transaction took four round trips).
Portable SQL: PostgreSQL, and SQLite from 3.35.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, Model


def _column(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise ValueError(f"{name!r} is not a concrete column of {model._meta.label}")
    return field


def claim_rows(
    model: type[Model],
    *,
    ids: Iterable[int],
    where: Mapping[str, Any],
    set: Mapping[str, Any] | None = None,
    increment: Sequence[str] = (),
    returning: Sequence[str] = ("id",),
    skip_locked: bool = False,
) -> list[tuple[Any, ...]]:
    """Claim the rows among `ids` whose fields still equal `where` (None: IS NULL):
    write `set`, add 1 to each field of `increment`, and return `returning` of each row
    claimed. `skip_locked` also leaves out rows another transaction holds a lock on
    (where the database can), instead of waiting for it.

    Values are prepared by their fields, so the stored values compare equal to the ORM's
    own writes; only quoted column names from the model go into the statement's text.
    """
    wanted = [int(pk) for pk in ids]
    if not wanted:
        return []
    connection = connections[model._default_manager.db]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None
    pk_column = qn(pk.column)

    assignments: list[str] = []
    params: list[Any] = []
    for name, value in (set or {}).items():
        field = _column(model, name)
        assignments.append(f"{qn(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for name in increment:
        column = qn(_column(model, name).column)
        assignments.append(f"{column} = {column} + 1")
    if not assignments:
        raise ValueError("a claim must change something")

    conditions = [f"{pk_column} IN ({', '.join(['%s'] * len(wanted))})"]
    condition_params: list[Any] = list(wanted)
    for name, value in where.items():
        field = _column(model, name)
        if value is None:
            conditions.append(f"{qn(field.column)} IS NULL")
        else:
            conditions.append(f"{qn(field.column)} = %s")
            condition_params.append(field.get_db_prep_save(value, connection))
    condition = " AND ".join(conditions)
    if skip_locked and connection.features.has_select_for_update_skip_locked:
        condition = (
            f"{pk_column} IN (SELECT {pk_column} FROM {table} "  # noqa: S608 (names from the model)
            f"WHERE {condition} FOR UPDATE SKIP LOCKED)"
        )
    columns = ", ".join(qn(_column(model, name).column) for name in returning)
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 (names from the model)
        f"WHERE {condition} RETURNING {columns}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *condition_params])
        return [tuple(row) for row in cursor.fetchall()]
