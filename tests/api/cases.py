"""Route cases of the subscriptions API (see route_cases.py)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from accounts.models import Creator
from subscriptions.coupons import coupon_create
from subscriptions.models import Status, Subscription, SubscriptionEvent
from tests.api.route_cases import Built, Call, RouteCase, as_list
from tests.factories import ChargeFactory, PlanFactory, ProductFactory, SubscriptionFactory


def _product(creator: Creator) -> Built:
    product = ProductFactory(creator=creator)
    return Built(kwargs={"id": str(product.uuid)}, refs={"product": product})


def _plan(creator: Creator) -> Built:
    plan = PlanFactory(product=ProductFactory(creator=creator))
    return Built(kwargs={"id": str(plan.uuid)}, refs={"plan": plan, "product": plan.product})


def _coupon(creator: Creator) -> Built:
    plan = PlanFactory(product=ProductFactory(creator=creator))
    coupon = coupon_create(
        creator=creator,
        code=f"C{plan.pk}",
        kind="percent",
        value=Decimal("10"),
        duration="once",
        plans=[plan],
    )
    return Built(kwargs={"id": str(coupon.uuid)}, refs={"coupon": coupon, "plan": plan})


def _paused_subscription(creator: Creator) -> Built:
    built = _subscription(creator)
    subscription = built.refs["subscription"]
    Subscription.objects.filter(pk=subscription.pk).update(
        status=Status.PAUSED, next_charge_date=None, paid_through=timezone.localdate()
    )
    return built


def _another_day(subscription: Subscription) -> int:
    """A billing day the subscription does not renew on yet."""
    return 2 if subscription.next_charge_date.day == 1 else 1


def _subscription(creator: Creator) -> Built:
    subscription = SubscriptionFactory(plan=PlanFactory(product=ProductFactory(creator=creator)))
    SubscriptionEvent.objects.create(
        creator=creator,
        subscription=subscription,
        type="subscription.created",
        data={"status": "ACTIVE"},
        occurred_at=timezone.now(),
    )
    ChargeFactory(subscription=subscription)
    return Built(
        kwargs={"id": str(subscription.uuid)},
        refs={"subscription": subscription, "plan": subscription.plan},
    )


def _subscription_with_cheaper_plan(creator: Creator) -> Built:
    """A subscription and a cheaper plan of its product (a switch scheduled, no charge)."""
    built = _subscription(creator)
    plan = built.refs["plan"]
    cheaper = PlanFactory(
        product=plan.product, price=plan.price / 2, currency=plan.currency, period=plan.period
    )
    return Built(kwargs=built.kwargs, refs={**built.refs, "cheaper": cheaper})


CASES: dict[str, RouteCase] = {
    "product-list": RouteCase(
        build=as_list(_product),
        calls={
            "get": Call(),
            # A product refers to nothing: an outsider simply creates one of their own.
            "post": Call(ok=201, body=lambda b: {"name": "New course"}, outsider=201),
        },
    ),
    "product-detail": RouteCase(build=_product, calls={"get": Call()}),
    "plan-list": RouteCase(
        build=as_list(_plan),
        calls={
            "get": Call(),
            "post": Call(
                ok=201,
                body=lambda b: {
                    "product": str(b.refs["product"].uuid),
                    "name": "Yearly",
                    "price": "399.00",
                    "currency": "BRL",
                    "period": "yearly",
                },
            ),
        },
    ),
    "plan-detail": RouteCase(build=_plan, calls={"get": Call()}),
    "coupon-list": RouteCase(
        build=as_list(_coupon),
        calls={
            "get": Call(),
            "post": Call(
                ok=201,
                body=lambda b: {
                    "code": "NEW10",
                    "kind": "percent",
                    "value": "10",
                    "duration": "forever",
                    "plans": [str(b.refs["plan"].uuid)],
                },
            ),
        },
    ),
    "coupon-detail": RouteCase(build=_coupon, calls={"get": Call()}),
    "coupon-deactivate": RouteCase(build=_coupon, calls={"post": Call()}),
    "subscription-list": RouteCase(
        build=as_list(_subscription),
        calls={
            "get": Call(),
            "post": Call(
                ok=201,
                body=lambda b: {
                    "plan": str(b.refs["plan"].uuid),
                    "subscriber": {"email": "new@example.com", "name": "New"},
                    "payment_method": "pm_sandbox_ok",
                },
            ),
        },
    ),
    "subscription-detail": RouteCase(build=_subscription, calls={"get": Call()}),
    "subscription-cancel": RouteCase(
        build=_subscription, calls={"post": Call(body=lambda b: {"reason": "test"})}
    ),
    "subscription-change-plan": RouteCase(
        build=_subscription_with_cheaper_plan,
        calls={"post": Call(body=lambda b: {"plan": str(b.refs["cheaper"].uuid)})},
    ),
    "subscription-billing-day": RouteCase(
        build=_subscription,
        calls={"post": Call(body=lambda b: {"day": _another_day(b.refs["subscription"])})},
    ),
    "subscription-pause": RouteCase(
        build=_subscription, calls={"post": Call(body=lambda b: {"when": "now"})}
    ),
    "subscription-resume": RouteCase(
        build=_paused_subscription, calls={"post": Call(body=lambda b: {"how": "new_period"})}
    ),
    "subscription-events": RouteCase(build=_subscription, calls={"get": Call()}),
    "subscription-charges": RouteCase(build=_subscription, calls={"get": Call()}),
}
