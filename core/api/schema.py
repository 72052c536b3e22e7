"""OpenAPI details shared by every API view: the error shape on every operation, the
bearer and session security schemes, and the `Idempotency-Key` header parameter."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

# The `Authorization` scheme of API keys (accounts.api.auth checks it).
BEARER = "Bearer"


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable, machine-readable code, e.g. `not_found`.")
    message = serializers.CharField(help_text="For a person; may change.")
    details = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Per-field messages for validation errors; extra data (e.g. `retry_after`).",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """`{"error": {"code", "message", "details"}}` — the body of every error answer."""

    error = ErrorDetailSerializer()


def _error(description: str, code: str, message: str, details: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={"error": {"code": code, "message": message, "details": details or {}}},
                response_only=True,
            )
        ],
    )


ERROR_400 = _error(
    "Invalid input (malformed JSON, a field error, a bad filter value).",
    "invalid",
    "price: A valid number is required.",
    {"price": ["A valid number is required."]},
)
ERROR_401 = _error("Missing or invalid API key.", "not_authenticated", "Authentication required.")
ERROR_403 = _error(
    "The key's role may read but not write.",
    "permission_denied",
    "Your role can read but not change this creator's data.",
)
ERROR_404 = _error("Unknown id, or an object of another creator.", "not_found", "Not found.")
ERROR_409 = _error(
    "The object's state does not allow this, or the same Idempotency-Key is in flight.",
    "conflict",
    "This subscription is already cancelled.",
)
ERROR_415 = _error(
    "The body is not JSON.", "unsupported_media_type", 'Unsupported media type "text/plain".'
)
ERROR_422 = _error(
    "A business rule refused the request, or an Idempotency-Key was reused with another body.",
    "idempotency_key_reused",
    "This Idempotency-Key was used with a different request.",
)
ERROR_429 = _error(
    "Rate limit reached; retry after `Retry-After` seconds.",
    "throttled",
    "Request was throttled. Expected available in 12 seconds.",
    {"retry_after": 12},
)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string up to 255 characters (a UUID is ideal). Repeating a request with "
        "the same key and body within 24 hours answers the first response again instead of "
        "charging twice; the same key with a different body answers 422; while the first "
        "request is still running, 409."
    ),
)


class ApiAutoSchema(AutoSchema):
    """Adds the documented error answers to every operation, so clients (and the
    schema-based tests) know every status an endpoint can give."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors: dict[str, Any] = {"401": ERROR_401, "403": ERROR_403, "429": ERROR_429}
        has_id = "{id}" in self.path
        writes = self.method in ("POST", "PUT", "PATCH", "DELETE")
        if has_id:
            errors["404"] = ERROR_404
        if writes or self._is_list_view():
            errors["400"] = ERROR_400
        if writes:
            errors["409"] = ERROR_409
            errors["415"] = ERROR_415
            errors["422"] = ERROR_422
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return dict(sorted(responses.items()))


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix=BEARER,
        )
        scheme["description"] = "`Authorization: Bearer sk_live_…` — a creator's API key."
        return scheme  # type: ignore[no-any-return]


class DashboardSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.auth.TenantSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


def strip_trailing_slashes(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: the routes accept both forms; document SPEC §10's (no slash)."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()
    }
    return result
