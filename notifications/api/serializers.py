"""API shapes of notifications. Credentials are write-only and never serialized."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.models import Integration, NewContactStatus


class IntegrationSerializer(serializers.ModelSerializer[Integration]):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Integration
        fields = [
            "id",
            "provider",
            "name",
            "status",
            "last_error",
            "last_checked_at",
            "new_contact_status",
            "created_at",
        ]
        read_only_fields = fields


class IntegrationCreateSerializer(serializers.Serializer[Any]):
    provider = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    credentials = serializers.JSONField(write_only=True)
    new_contact_status = serializers.ChoiceField(choices=NewContactStatus.choices, required=False)


class IntegrationUpdateSerializer(serializers.Serializer[Any]):
    provider = serializers.CharField(max_length=40, required=False)
    name = serializers.CharField(max_length=200, required=False)
    credentials = serializers.JSONField(write_only=True, required=False)
    new_contact_status = serializers.ChoiceField(choices=NewContactStatus.choices, required=False)


class ListInfoSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
