from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import TenantViewSet
from accounts.errors import DomainError
from notifications import selectors, services
from notifications.api import serializers as s
from notifications.models import Integration, WebhookDelivery, WebhookEndpoint
from notifications.webhooks import services as webhooks


class UUIDLookupMixin:
    """A malformed id is a missing object (404), not a 400 or a 500."""

    def get_object(self) -> Any:
        raw = self.kwargs.get("id", "")  # type: ignore[attr-defined]
        try:
            uuid.UUID(str(raw))
        except ValueError:
            raise Http404 from None
        return super().get_object()  # type: ignore[misc]


def _validated(serializer_class: type[Any], data: Any, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class IntegrationViewSet(
    UUIDLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    serializer_class = s.IntegrationSerializer

    def get_scoped_queryset(self) -> QuerySet[Integration]:
        return Integration.objects.all()

    @extend_schema(request=s.IntegrationCreateSerializer, responses={201: s.IntegrationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(s.IntegrationCreateSerializer, request.data)
        integration = services.integration_create(
            creator=self.tenant,
            provider=data["provider"],
            name=data.get("name", ""),
            credentials=data["credentials"],
            new_contact_status=data.get("new_contact_status"),
        )
        return Response(self.get_serializer(integration).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.IntegrationUpdateSerializer, responses=s.IntegrationSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        integration = self.get_object()
        data = _validated(s.IntegrationUpdateSerializer, request.data, partial=True)
        if "provider" in data and data["provider"] != integration.provider:
            raise DomainError(
                "The provider of an integration cannot change; create a new integration.",
                details={"provider": ["Cannot change."]},
            )
        integration = services.integration_update(
            integration=integration,
            name=data.get("name"),
            credentials=data.get("credentials"),
            new_contact_status=data.get("new_contact_status"),
        )
        return Response(self.get_serializer(integration).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.integration_delete(integration=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.IntegrationSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        integration = services.integration_validate(integration=self.get_object())
        return Response(self.get_serializer(integration).data)

    @action(detail=True, methods=["get"], serializer_class=s.ListInfoSerializer)
    def lists(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        found = selectors.integration_lists(integration=self.get_object())
        return Response({"results": s.ListInfoSerializer(found, many=True).data})

    @extend_schema(parameters=[OpenApiParameter("list", str, description="Mailchimp audience")])
    @action(detail=True, methods=["get"], serializer_class=s.ListInfoSerializer)
    def tags(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        found = selectors.integration_tags(
            integration=self.get_object(), list_id=request.query_params.get("list") or None
        )
        return Response({"results": s.ListInfoSerializer(found, many=True).data})


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
        data = _validated(s.WebhookEndpointWriteSerializer, request.data)
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
        data = _validated(s.WebhookEndpointWriteSerializer, request.data, partial=True)
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
