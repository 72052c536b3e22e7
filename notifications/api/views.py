from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import TenantViewSet, UUIDLookupMixin, validated
from core.errors import DomainError
from notifications import selectors, services
from notifications.api import serializers as s
from notifications.models import Integration


class IntegrationViewSet(
    UUIDLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    serializer_class = s.IntegrationSerializer

    def get_scoped_queryset(self) -> QuerySet[Integration]:
        return Integration.objects.all()

    @extend_schema(request=s.IntegrationCreateSerializer, responses={201: s.IntegrationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(s.IntegrationCreateSerializer, request.data)
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
        data = validated(s.IntegrationUpdateSerializer, request.data, partial=True)
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
