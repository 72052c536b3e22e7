"""Keyset pagination for big tables: each page is an index range scan, so page 2,000
costs what page 1 does (OFFSET would read and throw away every earlier row).

The cursor is (sort value, uuid) of the boundary row, base64-encoded JSON. The uuid
is the unique tie-breaker, so integer keys stay inside. Nullable sort columns keep
NULLs last in both directions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.db.models import F, Model, Q, QuerySet

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class SortKey:
    field: str  # ORM path, e.g. "created_at" or "subscriber__email"
    descending: bool
    nullable: bool = False
    parse: Callable[[str], Any] = str


def parse_datetime_value(value: str) -> datetime:
    return datetime.fromisoformat(value)


def parse_date_value(value: str) -> date:
    return date.fromisoformat(value)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: Sequence[M]
    next_cursor: str | None
    previous_cursor: str | None
    is_first: bool


def _encode(value: Any, uuid: UUID, direction: str) -> str:
    raw = value.isoformat() if isinstance(value, date | datetime) else value
    payload = json.dumps({"v": raw, "u": str(uuid), "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode(cursor: str, key: SortKey) -> tuple[Any, UUID, str] | None:
    """(value, uuid, direction), or None for a cursor we did not make: page one then."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        direction = payload["d"]
        if direction not in ("n", "p"):
            return None
        value = None if payload["v"] is None else key.parse(payload["v"])
        return value, UUID(payload["u"]), direction
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        return None


def _order(key: SortKey, *, reverse: bool) -> list[Any]:
    descending = key.descending != reverse
    # NULLs last in the page order, so first when walking backwards.
    nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
    field = F(key.field).desc(**nulls) if descending else F(key.field).asc(**nulls)
    return [field, "-uuid" if descending else "uuid"]


def _after(key: SortKey, value: Any, uuid: UUID) -> Q:
    """Rows after the boundary in page order."""
    gt = "lt" if key.descending else "gt"
    if value is None:
        return Q(**{f"{key.field}__isnull": True, f"uuid__{gt}": uuid})
    condition = Q(**{f"{key.field}__{gt}": value}) | Q(**{key.field: value, f"uuid__{gt}": uuid})
    if key.nullable:
        condition |= Q(**{f"{key.field}__isnull": True})
    return condition


def _before(key: SortKey, value: Any, uuid: UUID) -> Q:
    """Rows before the boundary in page order."""
    lt = "gt" if key.descending else "lt"
    if value is None:
        return Q(**{f"{key.field}__isnull": False}) | Q(
            **{f"{key.field}__isnull": True, f"uuid__{lt}": uuid}
        )
    return Q(**{f"{key.field}__{lt}": value}) | Q(**{key.field: value, f"uuid__{lt}": uuid})


def _value(row: Model, field: str) -> Any:
    obj: Any = row
    for part in field.split("__"):
        obj = getattr(obj, part)
    return obj


def keyset_page(
    queryset: QuerySet[M], *, key: SortKey, cursor: str | None, size: int
) -> KeysetPage[M]:
    decoded = _decode(cursor, key) if cursor else None
    if decoded is None:
        rows = list(queryset.order_by(*_order(key, reverse=False))[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(
            rows=rows,
            next_cursor=_encode(_value(rows[-1], key.field), rows[-1].uuid, "n")  # type: ignore[attr-defined]
            if more
            else None,
            previous_cursor=None,
            is_first=True,
        )
    value, uuid, direction = decoded
    if direction == "n":
        rows = list(
            queryset.filter(_after(key, value, uuid)).order_by(*_order(key, reverse=False))[
                : size + 1
            ]
        )
        more_after, more_before = len(rows) > size, True
        rows = rows[:size]
    else:
        rows = list(
            queryset.filter(_before(key, value, uuid)).order_by(*_order(key, reverse=True))[
                : size + 1
            ]
        )
        more_after, more_before = True, len(rows) > size
        rows = list(reversed(rows[:size]))
    if not rows:
        return KeysetPage(rows=[], next_cursor=None, previous_cursor=None, is_first=False)
    first, last = rows[0], rows[-1]
    return KeysetPage(
        rows=rows,
        next_cursor=_encode(_value(last, key.field), last.uuid, "n") if more_after else None,  # type: ignore[attr-defined]
        previous_cursor=_encode(_value(first, key.field), first.uuid, "p")  # type: ignore[attr-defined]
        if more_before
        else None,
        is_first=not more_before,
    )
