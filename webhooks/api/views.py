from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import TenantViewSet, UUIDLookupMixin, validated
from core.errors import DomainError
from webhooks import services as webhooks
from webhooks.api import serializers as s
from webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointViewSet(
    UUIDLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    serializer_class = s.WebhookEndpointSerializer

    def get_scoped_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.all()

    @extend_schema(
        request=s.WebhookEndpointWriteSerializer,
        responses={201: s.WebhookEndpointCreatedSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(s.WebhookEndpointWriteSerializer, request.data)
        endpoint, secret = webhooks.webhook_endpoint_create(
            creator=self.tenant,
            url=data.get("url"),
            events=data.get("events"),
            description=data.get("description", ""),
        )
        body = s.WebhookEndpointCreatedSerializer(endpoint, context={"secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WebhookEndpointWriteSerializer, responses=s.WebhookEndpointSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        data = validated(s.WebhookEndpointWriteSerializer, request.data, partial=True)
        if "url" in data and data["url"] is None:
            raise DomainError("A URL is required.", details={"url": ["Required."]})
        endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, **data)
        return Response(self.get_serializer(endpoint).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhooks.webhook_endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"], serializer_class=s.WebhookDeliverySerializer)
    def deliveries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        queryset = WebhookDelivery.objects.filter(endpoint=endpoint).select_related(
            "endpoint", "event"
        )
        page = self.paginate_queryset(queryset)
        data = s.WebhookDeliverySerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], serializer_class=s.WebhookDeliverySerializer)
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delivery = webhooks.webhook_test_send(endpoint=self.get_object())
        delivery.refresh_from_db()
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryViewSet(UUIDLookupMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = s.WebhookDeliverySerializer

    def get_scoped_queryset(self) -> QuerySet[WebhookDelivery]:
        return WebhookDelivery.objects.select_related("endpoint", "event")

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delivery = webhooks.webhook_delivery_replay(delivery=self.get_object())
        fresh: Model = WebhookDelivery.objects.select_related("endpoint", "event").get(
            pk=delivery.pk, creator=self.tenant
        )
        return Response(self.get_serializer(fresh).data, status=status.HTTP_202_ACCEPTED)
