from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Creator, Membership, Role, User
from core.actors import Actor, ActorKind
from subscriptions.models import Charge, Plan, Product, Status, Subscriber, Subscription


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class CreatorFactory(factory.django.DjangoModelFactory[Creator]):
    class Meta:
        model = Creator

    name = factory.Sequence(lambda n: f"Creator {n}")
    slug = factory.Sequence(lambda n: f"creator-{n}")
    time_zone = "America/Sao_Paulo"
    locale = "en"
    currency = "BRL"


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    creator = factory.SubFactory(CreatorFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Product {n}")


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    class Meta:
        model = Plan

    product = factory.SubFactory(ProductFactory)
    creator = factory.SelfAttribute("product.creator")
    name = "Monthly"
    price = Decimal("49.90")
    currency = "BRL"
    period = "monthly"


class SubscriberFactory(factory.django.DjangoModelFactory[Subscriber]):
    class Meta:
        model = Subscriber

    creator = factory.SubFactory(CreatorFactory)
    email = factory.Sequence(lambda n: f"subscriber{n}@example.com")
    name = factory.Sequence(lambda n: f"Subscriber {n}")
    locale = "en"


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    """An ACTIVE monthly subscription that paid its first period (anchor = today)."""

    class Meta:
        model = Subscription

    plan = factory.SubFactory(PlanFactory)
    creator = factory.SelfAttribute("plan.creator")
    subscriber = factory.SubFactory(SubscriberFactory, creator=factory.SelfAttribute("..creator"))
    status = Status.ACTIVE
    payment_method = "pm_sandbox_ok"
    started_at = factory.LazyFunction(timezone.now)
    billing_anchor = factory.LazyAttribute(lambda o: timezone.localdate(o.started_at, o.creator.tz))
    next_charge_date = factory.LazyAttribute(lambda o: _add_month(o.billing_anchor))
    paid_through = factory.LazyAttribute(lambda o: _add_month(o.billing_anchor))
    recurrence = 1


def _add_month(day):  # type: ignore[no-untyped-def]
    from subscriptions.billing import add_months

    return add_months(day, 1)


class ChargeFactory(factory.django.DjangoModelFactory[Charge]):
    class Meta:
        model = Charge

    subscription = factory.SubFactory(SubscriptionFactory)
    creator = factory.SelfAttribute("subscription.creator")
    amount = Decimal("49.90")
    currency = "BRL"
    status = Charge.Status.SUCCEEDED
    kind = Charge.Kind.FIRST
    period_start = factory.LazyAttribute(lambda o: o.subscription.billing_anchor)
    period_end = factory.LazyAttribute(lambda o: o.subscription.billing_anchor + timedelta(days=30))
    idempotency_key = factory.Sequence(lambda n: f"test-key-{n}")
    gateway = "sandbox"


# Who acts in tests that call services directly (the entry points build their own).
TEST_ACTOR = Actor(ActorKind.MEMBER, "test", "test")
SUPPORT_ACTOR = Actor(ActorKind.SUPPORT, "support@example.com", "support: support@example.com")
_ACTOR_BY_SOURCE = {
    "seller": TEST_ACTOR,
    "customer": Actor(ActorKind.SUBSCRIBER, "test", "test"),
    "admin": SUPPORT_ACTOR,
}


def actor_for(source: str) -> Actor:
    """The actor whose cancellation has this source (SPEC §4.2: it follows from who acted)."""
    return _ACTOR_BY_SOURCE[str(source)]


def labelled_actor(label: str) -> Actor:
    """A member whose label (kept on reactivation requests) the test chooses."""
    return Actor(ActorKind.MEMBER, "test", label)
