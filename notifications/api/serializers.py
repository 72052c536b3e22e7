"""API shapes of notifications. Credentials are write-only and never serialized; a
webhook secret appears only in the answer to the POST that created the endpoint."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.models import Integration, WebhookDelivery, WebhookEndpoint
from notifications.providers import CONTACT_STATUSES


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
    new_contact_status = serializers.ChoiceField(choices=CONTACT_STATUSES, required=False)


class IntegrationUpdateSerializer(serializers.Serializer[Any]):
    provider = serializers.CharField(max_length=40, required=False)
    name = serializers.CharField(max_length=200, required=False)
    credentials = serializers.JSONField(write_only=True, required=False)
    new_contact_status = serializers.ChoiceField(choices=CONTACT_STATUSES, required=False)


class ListInfoSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "is_active",
            "disabled_reason",
            "failing_since",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.SerializerMethodField()

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, obj: WebhookEndpoint) -> str:
        return str(self.context["secret"])


class WebhookEndpointWriteSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.JSONField(required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    endpoint = serializers.UUIDField(source="endpoint.uuid", read_only=True)
    event = serializers.SerializerMethodField()
    type = serializers.CharField(source="event_type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "payload",
            "created_at",
        ]
        read_only_fields = fields

    def get_event(self, obj: WebhookDelivery) -> str | None:
        return str(obj.event.uuid) if obj.event_id and obj.event else None
