from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import exceptions, pagination
from rest_framework.request import Request
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    """`{"results": [...], "next": url|null, "previous": url|null}` (SPEC §10)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        # A tampered cursor is bad input (400 with the field named), not a missing page.
        try:
            cursor = super().decode_cursor(request)
            first = self.ordering[0] if isinstance(self.ordering, tuple | list) else self.ordering
            position = cursor.position if cursor is not None else None
            if (
                position is not None
                and first.endswith("_at")
                and parse_datetime(str(position)) is None
            ):
                raise ValueError(position)
        except (exceptions.NotFound, ValueError) as exc:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["Invalid cursor."]}
            ) from exc
        return cursor

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"results": data, "next": self.get_next_link(), "previous": self.get_previous_link()}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }


class OldestFirstCursorPagination(CursorPagination):
    ordering = ("occurred_at", "id")
