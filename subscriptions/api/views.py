from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import TenantViewSet
from subscriptions import services
from subscriptions.api.serializers import ProductSerializer
from subscriptions.models import Product


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = ProductSerializer

    def get_scoped_queryset(self) -> QuerySet[Product]:
        return Product.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(
            creator=self.tenant, name=serializer.validated_data["name"]
        )
        return Response(self.get_serializer(product).data, status=status.HTTP_201_CREATED)
