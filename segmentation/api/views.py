from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import TenantViewSet
from segmentation import selectors, services
from segmentation.api.serializers import (
    DeliverySerializer,
    PreviewInputSerializer,
    RuleInputSerializer,
    RuleSerializer,
    TestInputSerializer,
)
from segmentation.compiler import RuleSpec
from segmentation.models import SegmentationRule
from segmentation.validation import rule_clean

PreviewSerializer = inline_serializer(
    "SegmentationPreview",
    {
        "matching_subscriptions": serializers.IntegerField(),
        "events_last_30_days": serializers.IntegerField(),
    },
)
TestResultSerializer = inline_serializer(
    "SegmentationTestResult",
    {
        "results": inline_serializer(
            "SegmentationTestAction",
            {
                "action_index": serializers.IntegerField(),
                "type": serializers.CharField(),
                "outcome": serializers.ChoiceField(choices=["ok", "error"]),
                "error": serializers.CharField(),
                "provider_status": serializers.IntegerField(allow_null=True),
                "delivery": serializers.UUIDField(),
            },
            many=True,
        )
    },
)


class SegmentationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    TenantViewSet,
):
    """Segmentation rules (SPEC §8, §10)."""

    serializer_class = RuleSerializer

    def get_scoped_queryset(self) -> QuerySet[SegmentationRule]:
        return selectors.rules_with_figures()

    def _answer(self, rule: SegmentationRule, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=rule.pk)
        return Response(RuleSerializer(fresh).data, status=code)

    @extend_schema(request=RuleInputSerializer, responses={201: RuleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = RuleInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user if request.user.is_authenticated else None
        rule = services.rule_create(
            creator=self.tenant,
            data=body.to_service_data(),
            created_by=user,  # type: ignore[arg-type]
        )
        return self._answer(rule, status.HTTP_201_CREATED)

    @extend_schema(request=RuleInputSerializer, responses={200: RuleSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        body = RuleInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.rule_update(rule=rule, data=body.to_service_data())
        return self._answer(rule)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.rule_delete(rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TestInputSerializer, responses={200: TestResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Run the rule's actions now for a test contact: `email`, or the member's own."""
        rule = self.get_object()
        body = TestInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        email = body.validated_data.get("email")
        name = ""
        if request.user.is_authenticated:
            email = email or request.user.email
            name = request.user.get_full_name()
        if not email:
            raise ValidationError(
                {"email": ["API key callers must pass the test contact's email."]}
            )
        results = services.rule_send_test(rule=rule, email=email, name=name)
        return Response(
            {
                "results": [
                    {
                        "action_index": r.action_index,
                        "type": r.type,
                        "outcome": "ok" if r.ok else "error",
                        "error": r.error,
                        "provider_status": r.provider_status,
                        "delivery": str(r.delivery.uuid),
                    }
                    for r in results
                ]
            }
        )

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The rule's delivery log, newest first (cursor-paginated)."""
        rule = self.get_object()
        page = self.paginate_queryset(selectors.deliveries_of_rule(rule))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=PreviewInputSerializer, responses={200: PreviewSerializer})
    @action(detail=False, methods=["post"])
    def preview(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """For the builder: how many current subscriptions are in the rule's segment, and
        how many events of the last 30 days would have triggered it. Nothing is saved."""
        body = PreviewInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        clean = rule_clean(creator=self.tenant, data=body.to_service_data(), require_actions=False)
        spec = RuleSpec(
            triggers=tuple(clean.triggers),
            match=clean.match,
            conditions=tuple(clean.conditions),
            product_id=clean.product.pk if clean.product else None,
        )
        return Response(selectors.rule_preview(creator=self.tenant, spec=spec))
