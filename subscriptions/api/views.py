"""REST API v1 for products, plans and subscriptions (SPEC §10). Thin: validate with a
serializer, call a service, answer with the shared shapes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.idempotency import idempotent
from core.actors import api_actor
from core.api.base import TenantViewSet
from core.api.pagination import CursorPagination, OldestFirstCursorPagination
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from subscriptions import services
from subscriptions.api import examples
from subscriptions.api.filters import SubscriptionFilter
from subscriptions.api.serializers import (
    BillingDayRequestSerializer,
    BillingDayResultSerializer,
    BillingDaySerializer,
    CancelSerializer,
    ChargeSerializer,
    CouponSerializer,
    EventSerializer,
    PauseRequestSerializer,
    PauseResultSerializer,
    PauseSerializer,
    PlanChangeRequestSerializer,
    PlanChangeResultSerializer,
    PlanChangeSerializer,
    PlanSerializer,
    ProductSerializer,
    ResumeRequestSerializer,
    ResumeResultSerializer,
    ResumeSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
)
from subscriptions.billing_day import subscription_billing_day_change
from subscriptions.coupons import coupon_create, coupon_deactivate, coupon_find
from subscriptions.models import Coupon, Plan, Product, Subscription
from subscriptions.pauses import subscription_pause, subscription_resume
from subscriptions.plan_changes import subscription_plan_change


def _unknown(field: str, what: str) -> serializers.ValidationError:
    # Same answer for a missing id and another creator's: existence never leaks.
    return serializers.ValidationError({field: [f"Unknown {what}."]})


@extend_schema_view(
    list=extend_schema(summary="List products"),
    retrieve=extend_schema(summary="Get a product"),
    create=extend_schema(summary="Create a product", examples=examples.PRODUCT_CREATE),
)
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


@extend_schema_view(
    list=extend_schema(summary="List plans"),
    retrieve=extend_schema(summary="Get a plan"),
    create=extend_schema(summary="Create a plan", examples=examples.PLAN_CREATE),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = PlanSerializer

    def get_scoped_queryset(self) -> QuerySet[Plan]:
        return Plan.objects.select_related("product")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        product = Product.objects.filter(creator=self.tenant, uuid=data["product"]["uuid"]).first()
        if product is None:
            raise _unknown("product", "product")
        plan = services.plan_create(
            creator=self.tenant,
            product=product,
            name=data["name"],
            price=data["price"],
            currency=data["currency"],
            period=data["period"],
            max_cycles=data["max_cycles"],
            trial_days=data["trial_days"],
            trial_requires_card=data["trial_requires_card"],
        )
        return Response(self.get_serializer(plan).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List subscriptions"),
    retrieve=extend_schema(summary="Get a subscription", examples=examples.SUBSCRIPTION),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = SubscriptionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SubscriptionFilter

    def get_scoped_queryset(self) -> QuerySet[Subscription]:
        return Subscription.objects.select_related("plan__product", "subscriber")

    def _answer(self, subscription: Subscription, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=subscription.pk)
        return Response(SubscriptionSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Create a subscription (a new sale, or an import)",
        description=(
            "A new sale charges the first period now through the creator's gateway: paid → "
            "`ACTIVE`, declined → `INACTIVE` (still 201). A `started_at` in the past imports "
            "an existing subscription without charging. Send an `Idempotency-Key` so a retry "
            "never charges twice."
        ),
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=examples.SUBSCRIPTION_CREATE,
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return idempotent(request, creator=self.tenant, perform=lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = (
            Plan.objects.select_related("product", "creator")
            .filter(creator=self.tenant, uuid=data["plan"])
            .first()
        )
        if plan is None:
            raise _unknown("plan", "plan")
        if not data["payment_method"] and not (plan.trial_days and not plan.trial_requires_card):
            raise serializers.ValidationError({"payment_method": ["This field may not be blank."]})
        person = data["subscriber"]
        subscription = services.subscription_create(
            creator=self.tenant,
            plan=plan,
            subscriber=services.SubscriberData(
                email=person["email"],
                name=person.get("name", ""),
                locale=person.get("locale", ""),
                gateway_customer_id=person.get("gateway_customer_id", ""),
            ),
            payment_method=data["payment_method"],
            started_at=data["started_at"],
            coupon=coupon_find(creator=self.tenant, code=data["coupon"])
            if data["coupon"]
            else None,
        )
        return self._answer(subscription, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a subscription as the seller",
        description=(
            "Status becomes `CANCELLED_BY_SELLER` (the source follows from who acted, never "
            "from the body); no further charges; access lasts until `paid_through`. "
            "Cancelling a cancelled, ended or inactive subscription answers 409."
        ),
        request=CancelSerializer,
        responses={200: SubscriptionSerializer},
        examples=examples.CANCEL,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancelled = services.subscription_cancel(
            subscription=subscription,
            actor=api_actor(request),
            reason=serializer.validated_data["reason"],
        )
        return self._answer(cancelled)

    @extend_schema(
        summary="Switch a subscription to another plan of its product",
        description=(
            "A dearer plan of the same period is an upgrade now: the difference for the "
            "rest of the current period (the new price minus the unused part of the old "
            "one, by days, in the creator's time zone) is charged at once and the plan "
            "changes; the billing day and the next charge date stay. A cheaper or equal "
            "plan, or another period, takes effect at the next renewal (nothing charged "
            "now). The current plan calls a scheduled switch off. 402 when the upgrade's "
            "payment is declined and 503 when the processor does not answer: nothing "
            "changes. 409 unless the subscription is ACTIVE."
        ),
        request=PlanChangeRequestSerializer,
        responses={200: PlanChangeResultSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=examples.CHANGE_PLAN,
    )
    @action(detail=True, methods=["post"], url_path="change-plan")
    def change_plan(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        return idempotent(
            request,
            creator=self.tenant,
            perform=lambda: self._change_plan(request, subscription),
        )

    def _with_subscription(self, subscription: Subscription, **parts: Any) -> Response:
        """The subscription as it is now, with what the action did beside it."""
        fresh = self.get_queryset().get(pk=subscription.pk)
        return Response({"subscription": SubscriptionSerializer(fresh).data, **parts})

    def _change_plan(self, request: Request, subscription: Subscription) -> Response:
        serializer = PlanChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = (
            Plan.objects.select_related("product")
            .filter(creator=self.tenant, uuid=serializer.validated_data["plan"])
            .first()
        )
        if plan is None:
            raise _unknown("plan", "plan")
        code = serializer.validated_data["coupon"]
        change = subscription_plan_change(
            subscription=subscription,
            plan=plan,
            actor=api_actor(request),
            coupon=coupon_find(creator=self.tenant, code=code) if code else None,
        )
        fresh = self.get_queryset().select_related("scheduled_plan").get(pk=subscription.pk)
        return Response(
            {
                "subscription": SubscriptionSerializer(fresh).data,
                "change": PlanChangeSerializer(
                    {
                        "kind": change.kind.value,
                        "effective_on": change.effective_on,
                        "scheduled_plan": fresh.scheduled_plan.uuid
                        if fresh.scheduled_plan
                        else None,
                        "cancelled": change.cancelled,
                        "proration": change.proration,
                        "charge": change.charge,
                    }
                ).data,
            }
        )

    @extend_schema(
        summary="Change the day of the month a subscription renews on",
        description=(
            "The next due date moves to `day` (1-28) of its month, or of the next month "
            "when that day is today or past. The days moved are prorated on the charge of "
            "the new due date: added when it moves later, credited when earlier; nothing "
            "is charged now. Once a period; 409 unless ACTIVE, for the same day, or with "
            "a pause waiting; 422 for a weekly plan."
        ),
        request=BillingDayRequestSerializer,
        responses={200: BillingDayResultSerializer},
        examples=examples.BILLING_DAY,
    )
    @action(detail=True, methods=["post"], url_path="billing-day")
    def billing_day(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        serializer = BillingDayRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = subscription_billing_day_change(
            subscription=subscription,
            actor=api_actor(request),
            day=serializer.validated_data["day"],
        )
        return self._with_subscription(subscription, billing_day=BillingDaySerializer(change).data)

    @extend_schema(
        summary="Pause a subscription",
        description=(
            "Only an ACTIVE subscription pauses (409 otherwise). `now`: PAUSED at once; "
            "`period_end`: it stays active until its next due date and pauses instead of "
            "renewing. `periods` skips that many renewals and resumes on the anchor's due "
            "date; `until` resumes on a date after the next due date; neither is "
            "open-ended. Nothing is charged while paused; `access_until` follows the "
            "product's pause rule. Asking again while a pause waits replaces it."
        ),
        request=PauseRequestSerializer,
        responses={200: PauseResultSerializer},
        examples=examples.PAUSE,
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        serializer = PauseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pause = subscription_pause(
            subscription=subscription,
            actor=api_actor(request),
            when=data["when"],
            periods=data.get("periods"),
            until=data.get("until"),
        )
        return self._with_subscription(subscription, pause=PauseSerializer(pause).data)

    @extend_schema(
        summary="Resume a paused subscription",
        description=(
            "Inside the paid period: ACTIVE, next charge on `paid_through`, nothing "
            "charged. After it, `new_period` charges the period starting today at once "
            "(a declined payment makes it late, as a declined renewal does) and "
            "`continue` charges nothing, the next charge one period after today. A pause "
            "still waiting for the period end is called off. 409 when not paused."
        ),
        request=ResumeRequestSerializer,
        responses={200: ResumeResultSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=examples.RESUME,
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        return idempotent(
            request,
            creator=self.tenant,
            perform=lambda: self._resume(request, subscription),
        )

    def _resume(self, request: Request, subscription: Subscription) -> Response:
        serializer = ResumeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resumed = subscription_resume(
            subscription=subscription,
            actor=api_actor(request),
            how=serializer.validated_data["how"],
        )
        fresh = self.get_queryset().get(pk=subscription.pk)
        outcome = resumed.outcome
        resume = {
            "how": outcome.how if outcome else "pause_called_off",
            # After the resume's own charge settled: the subscription's next charge.
            "next_charge_date": fresh.next_charge_date,
            "charge": resumed.charge,
        }
        return Response(
            {
                "subscription": SubscriptionSerializer(fresh).data,
                "resume": ResumeSerializer(resume).data,
            }
        )

    @extend_schema(
        summary="A subscription's event history, oldest first",
        responses={200: EventSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=OldestFirstCursorPagination)
    def events(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        return self._nested_page(subscription.events.all(), EventSerializer)

    @extend_schema(
        summary="A subscription's charges, newest first",
        responses={200: ChargeSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=CursorPagination)
    def charges(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        return self._nested_page(subscription.charges.all(), ChargeSerializer)

    def _nested_page(self, queryset: QuerySet[Any], serializer_class: type) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="List coupons"),
    retrieve=extend_schema(summary="Get a coupon"),
    create=extend_schema(summary="Create a coupon", examples=examples.COUPON_CREATE),
)
class CouponViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Coupons (subscriptions/coupons.py): percent or amount off, once, N periods or
    forever, with optional limits; applied with `coupon` on a sale or a plan switch."""

    serializer_class = CouponSerializer

    def get_scoped_queryset(self) -> QuerySet[Coupon]:
        return Coupon.objects.prefetch_related("plans")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plans = list(Plan.objects.filter(creator=self.tenant, uuid__in=data["plans"]))
        if len(plans) != len(set(data["plans"])):
            raise _unknown("plans", "plan")
        coupon = coupon_create(
            creator=self.tenant,
            code=data["code"],
            kind=data["kind"],
            value=data["value"],
            currency=data["currency"],
            duration=data["duration"],
            duration_periods=data["duration_periods"],
            max_redemptions=data["max_redemptions"],
            expires_at=data["expires_at"],
            plans=plans,
        )
        return Response(self.get_serializer(coupon).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Deactivate a coupon",
        description="No new redemptions; subscriptions that have it keep their discount.",
        request=None,
        responses={200: CouponSerializer},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        coupon = coupon_deactivate(coupon=self.get_object())
        return Response(self.get_serializer(coupon).data)
