"""CSV exports: the subscriptions table with its current filters and a rule's delivery log.

Streamed: rows are read with a server-side cursor in chunks of EXPORT_CHUNK and written
as they come, so a tenant with 200,000 subscriptions costs one query per chunk and a
constant amount of memory, and the first bytes leave at once.

The columns are the API's names and values (status codes, ISO dates, UTC timestamps,
decimal amounts), so a file reads the same in every language and round-trips into
spreadsheets and scripts. A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with `'`, so a subscriber's name cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from segmentation.models import SegmentationDelivery
from subscriptions.models import Subscription

EXPORT_CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SUBSCRIPTION_COLUMNS = [
    "id",
    "email",
    "name",
    "locale",
    "product",
    "plan",
    "price",
    "currency",
    "period",
    "status",
    "started_at",
    "billing_anchor",
    "next_charge_date",
    "paid_through",
    "recurrence",
    "cancelled_at",
    "cancellation_source",
    "cancellation_reason",
]
DELIVERY_COLUMNS = [
    "id",
    "created_at",
    "action",
    "integration",
    "contact_email",
    "status",
    "attempts",
    "provider_status",
    "error",
    "is_test",
    "finished_at",
]


class _Line:
    """A file-like object for csv.writer that hands back each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV text line by line, with a UTF-8 byte order mark first (spreadsheets then
    read accents right)."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(lines: Iterator[str], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def subscription_rows(queryset: QuerySet[Subscription]) -> Iterator[list[Any]]:
    rows = (
        queryset.select_related("subscriber", "plan", "plan__product")
        .order_by("created_at", "id")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    for s in rows:
        yield [
            s.uuid,
            s.subscriber.email,
            s.subscriber.name,
            s.subscriber.locale,
            s.plan.product.name,
            s.plan.name,
            s.plan.price,
            s.plan.currency,
            s.plan.period,
            s.status,
            s.started_at,
            s.billing_anchor,
            s.next_charge_date,
            s.paid_through,
            s.recurrence,
            s.cancelled_at,
            s.cancellation_source,
            s.cancellation_reason,
        ]


def delivery_rows(queryset: QuerySet[SegmentationDelivery]) -> Iterator[list[Any]]:
    rows = (
        queryset.select_related("integration")
        .order_by("-created_at", "-id")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    for d in rows:
        yield [
            d.uuid,
            d.created_at,
            d.action_type,
            d.integration.name if d.integration else "",
            d.contact_email,
            d.status,
            d.attempts,
            d.provider_status,
            d.error,
            d.is_test,
            d.finished_at,
        ]
