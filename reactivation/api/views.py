"""Reactivation rows of the REST API (SPEC §10)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from core.actors import Actor, ActorKind, api_actor
from core.api.base import TenantGenericAPIView, TenantViewSet
from reactivation import services
from reactivation.api.serializers import (
    BulkCreateSerializer,
    BulkResultSerializer,
    ListFilterSerializer,
    RequestCreateSerializer,
    RequestSerializer,
)
from reactivation.models import ReactivationRequest
from reactivation.presenters import request_as_api
from subscriptions.models import Subscription


def requested_by(request: Request) -> tuple[User | None, Actor]:
    """Who asked: the member (none for an API key) and the actor (its label reads "API key
    sk_live_abc…" or the member's email in the request's history)."""
    actor = api_actor(request)
    user = request.user if actor.kind is ActorKind.MEMBER else None
    return user, actor  # type: ignore[return-value]


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


class SubscriptionReactivationRequestView(TenantGenericAPIView):
    """`POST /subscriptions/{id}/reactivation-requests` `{mode}` → 201 request."""

    serializer_class = RequestCreateSerializer

    def get_scoped_queryset(self) -> QuerySet[Subscription]:
        return Subscription.objects.all()

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def post(self, request: Request, id: str) -> Response:
        subscription = self.get_queryset().filter(uuid=_uuid_or_404(id)).first()
        if subscription is None:
            raise Http404
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, actor = requested_by(request)
        created = services.reactivation_request_create(
            subscription=subscription,
            mode=serializer.validated_data["mode"],
            actor=actor,
            requested_by=user,
        )
        created.subscription = subscription
        return Response(request_as_api(created), status=status.HTTP_201_CREATED)


class ReactivationRequestViewSet(TenantViewSet):
    """`GET /reactivation-requests` (filter `status`), `GET /reactivation-requests/{id}`,
    `POST /reactivation-requests/bulk`."""

    lookup_value_regex = "[^/]+"

    def get_scoped_queryset(self) -> QuerySet[ReactivationRequest]:
        return ReactivationRequest.objects.select_related("subscription")

    def get_serializer_class(self) -> Any:
        return BulkCreateSerializer if self.action == "bulk" else ListFilterSerializer

    @extend_schema(parameters=[ListFilterSerializer], responses=RequestSerializer(many=True))
    def list(self, request: Request) -> Response:
        filters = ListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if filters.validated_data.get("status"):
            queryset = queryset.filter(status=filters.validated_data["status"])
        page = self.paginate_queryset(queryset)
        assert page is not None
        return self.get_paginated_response([request_as_api(r) for r in page])

    @extend_schema(responses=RequestSerializer)
    def retrieve(self, request: Request, id: str) -> Response:
        found = self.get_queryset().filter(uuid=_uuid_or_404(id)).first()
        if found is None:
            raise Http404
        return Response(request_as_api(found))

    @extend_schema(request=BulkCreateSerializer, responses=BulkResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request: Request) -> Response:
        serializer = BulkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, actor = requested_by(request)
        result = services.reactivation_requests_create_bulk(
            creator=self.tenant,
            subscription_ids=serializer.validated_data["subscriptions"],
            mode=serializer.validated_data["mode"],
            actor=actor,
            requested_by=user,
        )
        return Response(
            {
                "batch": str(result.batch.uuid),
                "created": [
                    request_as_api(
                        r, subscription_uuid=result.subscription_uuids[r.subscription_id]
                    )
                    for r in result.created
                ],
                "failed": result.failed,
            }
        )
