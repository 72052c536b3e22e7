from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segmentation.models import SegmentationDelivery, SegmentationRule
from segmentation.selectors import rule_figures


class ConditionSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    op = serializers.CharField()
    value = serializers.JSONField(required=False, allow_null=True)


class ActionSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    integration = serializers.CharField(required=False, allow_null=True)
    list = serializers.CharField(required=False)
    tag = serializers.CharField(required=False)
    subject = serializers.CharField(required=False)
    body = serializers.CharField(required=False)


class RuleInputSerializer(serializers.Serializer[Any]):
    """The request body's shape; the rows themselves are checked by
    `segmentation.validation.rule_clean` (through the services), whose messages name the
    row (`conditions[2]: …`)."""

    name = serializers.CharField(max_length=200)
    product = serializers.UUIDField(allow_null=True, required=False)
    triggers = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    match = serializers.ChoiceField(choices=SegmentationRule.Match.choices, required=False)
    conditions = serializers.ListField(child=serializers.DictField(), required=False)
    actions = serializers.ListField(child=serializers.DictField(), allow_empty=False)
    is_active = serializers.BooleanField(required=False)

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if data.get("product") is not None:
            data["product"] = str(data["product"])
        return data


class PreviewInputSerializer(RuleInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    actions = serializers.ListField(child=serializers.DictField(), required=False)


class RuleSerializer(serializers.ModelSerializer[SegmentationRule]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    product = serializers.SerializerMethodField()
    last_delivery_at = serializers.DateTimeField(read_only=True, allow_null=True)
    deliveries_last_7_days = serializers.SerializerMethodField()
    conditions = serializers.ListField(child=ConditionSerializer())
    actions = serializers.ListField(child=ActionSerializer())

    class Meta:
        model = SegmentationRule
        fields = [
            "id",
            "name",
            "product",
            "triggers",
            "match",
            "conditions",
            "actions",
            "is_active",
            "status",
            "last_error",
            "last_delivery_at",
            "deliveries_last_7_days",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_product(self, rule: SegmentationRule) -> str | None:
        return str(rule.product.uuid) if rule.product else None

    def get_deliveries_last_7_days(self, rule: SegmentationRule) -> dict[str, int]:
        return rule_figures(rule)


class DeliverySerializer(serializers.ModelSerializer[SegmentationDelivery]):
    id = serializers.UUIDField(source="uuid", read_only=True)
    event = serializers.SerializerMethodField()
    contact = serializers.EmailField(source="contact_email")
    action = serializers.CharField(source="action_type")

    class Meta:
        model = SegmentationDelivery
        fields = [
            "id",
            "event",
            "action_index",
            "action",
            "contact",
            "status",
            "attempts",
            "next_attempt_at",
            "provider_status",
            "error",
            "is_test",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_event(self, delivery: SegmentationDelivery) -> str | None:
        return str(delivery.event.uuid) if delivery.event else None


class TestInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(required=False)
