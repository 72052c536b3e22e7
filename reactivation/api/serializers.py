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
