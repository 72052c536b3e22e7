from __future__ import annotations

from rest_framework import serializers

from subscriptions.models import Product


class ProductSerializer(serializers.ModelSerializer[Product]):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "is_active", "created_at"]
        read_only_fields = ["is_active", "created_at"]
