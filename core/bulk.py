"""A fast bulk UPDATE for batch jobs.

Django's `bulk_update` builds one `CASE WHEN id = … THEN …` per field and row, which
costs more Python time than the database work itself at 100,000 rows. On PostgreSQL
this sends one `UPDATE … FROM (VALUES …)` per chunk instead; elsewhere (SQLite in
development) it falls back to `bulk_update`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Field, JSONField, Model
from django.db.models.constants import OnConflict

CHUNK = 1000
# An unnest insert sends one array per column, whatever the number of rows.
INSERT_CHUNK = 5000


def bulk_update_rows(rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of each row (matched by primary key), like `bulk_update`."""
    if not rows or not fields:
        return
    model = type(rows[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, list(fields), batch_size=CHUNK)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    columns: list[Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        if not isinstance(field, Field) or not field.column:
            raise ValueError(f"{name!r} is not a concrete column of {meta.label}")
        columns.append(field)
    qn = connection.ops.quote_name
    set_sql = ", ".join(
        f"{qn(str(f.column))} = v.{qn(str(f.column))}::{f.db_type(connection)}" for f in columns
    )
    names = ", ".join(qn(str(c)) for c in [pk.column, *(f.column for f in columns)])
    row_sql = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            params: list[Any] = []
            for row in chunk:
                params.append(row.pk)
                for f in columns:
                    params.append(f.get_db_prep_save(getattr(row, f.attname), connection))
            # Only quoted identifiers and column types from the model go into the text;
            # every value is a parameter.
            sql = (
                f"UPDATE {qn(meta.db_table)} AS t SET {set_sql} "  # noqa: S608
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v({names}) "
                f"WHERE t.{qn(pk.column)} = v.{qn(pk.column)}::{pk.db_type(connection)}"
            )
            cursor.execute(sql, params)


def bulk_insert_rows(rows: Sequence[Model]) -> None:
    """Insert unsaved rows and set their primary keys, like `bulk_create`.

    On PostgreSQL one `INSERT … SELECT … FROM unnest(…) RETURNING id` per 5,000 rows, with
    the values read straight from the instances: Django's `bulk_create` prepares each
    value through its field (~90 µs a row for a 15-column model), more than PostgreSQL
    takes to insert it. Handles what the batch jobs insert: plain columns, foreign keys,
    `auto_now`/`auto_now_add` dates and JSON. Elsewhere it is `bulk_create`.
    """
    if not rows:
        return
    model = type(rows[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(rows)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if f is not pk]
    qn = connection.ops.quote_name
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    json_fields = {f.attname: f for f in fields if isinstance(f, JSONField)}
    # A JSON column travels as one JSON array (quoted once) rather than an array of JSON
    # texts, whose every `"` psycopg escapes one by one. ROWS FROM zips the columns in
    # order; a JSON null is SQL NULL, as Django stores None.
    sources = ", ".join(
        "jsonb_array_elements(%s::jsonb)"
        if f.attname in json_fields
        else f"unnest(%s::{f.db_type(connection)}[])"
        for f in fields
    )
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    select = ", ".join(
        f"NULLIF(c{i}, 'null'::jsonb)" if f.attname in json_fields else f"c{i}"
        for i, f in enumerate(fields)
    )
    # Only quoted identifiers and column types from the model go into the text.
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(str(f.column)) for f in fields)}) "  # noqa: S608
        f"SELECT {select} FROM ROWS FROM ({sources}) AS v({aliases}) "
        f"RETURNING {qn(str(pk.column))}"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            for field in stamped:
                for row in chunk:
                    field.pre_save(row, add=True)
            params: list[Any] = []
            for field in fields:
                values = [getattr(row, field.attname) for row in chunk]
                json_field = json_fields.get(field.attname)
                params.append(
                    values if json_field is None else json.dumps(values, cls=json_field.encoder)
                )
            cursor.execute(sql, params)
            # RETURNING gives the rows in the order of the SELECT, as bulk_create relies on.
            for row, (new_pk,) in zip(chunk, cursor.fetchall(), strict=True):
                row.pk = new_pk
                row._state.adding = False
                row._state.db = alias


def insert_new_rows(rows: Sequence[Model]) -> list[int]:
    """Insert `rows` (all of one model) with `INSERT … ON CONFLICT DO NOTHING RETURNING id`
    and return the ids of the rows that were new: fewer than `len(rows)` means some
    existed already. One statement and no transaction, where `bulk_create(
    ignore_conflicts=True)` returns no ids and wraps itself in one. Uses the manager's
    `_insert`, the method `bulk_create` itself calls."""
    if not rows:
        return []
    model = type(rows[0])
    meta = model._meta
    inserted = model._default_manager._insert(  # type: ignore[attr-defined]
        rows,
        fields=[f for f in meta.concrete_fields if not f.primary_key],
        returning_fields=[meta.pk],
        on_conflict=OnConflict.IGNORE,
    )
    return [row[0] for row in inserted if row and row[0] is not None]
