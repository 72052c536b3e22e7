from __future__ import annotations

from rest_framework import serializers

from reactivation.models import Mode, ReactivationRequest
from reactivation.services import BULK_MAX


class RequestCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    mode = serializers.ChoiceField(choices=Mode.choices)


class BulkCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    mode = serializers.ChoiceField(choices=Mode.choices)
    # Items are kept as given: malformed ids are answered in `failed` (not_found).
    subscriptions = serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=True),
        allow_empty=False,
        max_length=BULK_MAX,
        error_messages={"max_length": f"At most {BULK_MAX} subscriptions per bulk request."},
    )


class ListFilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=ReactivationRequest.Status.choices, required=False)


class RequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The answer's shape for the OpenAPI schema (answers are built by `request_as_api`)."""

    id = serializers.UUIDField()
    subscription = serializers.UUIDField()
    mode = serializers.ChoiceField(choices=Mode.choices)
    status = serializers.ChoiceField(choices=ReactivationRequest.Status.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    failure_message = serializers.CharField(allow_blank=True)


class FailureSerializer(serializers.Serializer):  # type: ignore[type-arg]
    subscription = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    batch = serializers.UUIDField()
    created = RequestSerializer(many=True)
    failed = FailureSerializer(many=True)
