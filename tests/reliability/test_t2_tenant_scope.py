"""T2: a query on a tenant-owned model without a tenant scope fails loudly while a
tenant's request is served (core.tenancy), so a forgotten filter cannot ship; scoped
queries, workers, the support admin and code outside a request are unaffected."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db.models import Q
from django.test import Client

from accounts.models import Creator, Role
from config.celery import app
from core.tenancy import TenantScopeError, current_tenant, tenant_context
from notifications.models import Integration
from segmentation.models import SegmentationRule
from subscriptions.models import Charge, Plan, Subscription, SubscriptionEvent
from tests.api_helpers import api_client
from tests.factories import (
    ChargeFactory,
    MembershipFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@app.task(name="tests.t2_count_every_subscription")
def count_every_subscription() -> int:
    return Subscription.objects.count()


@pytest.fixture
def two_tenants() -> tuple[Creator, Subscription]:
    mine = SubscriptionFactory()
    ChargeFactory(subscription=mine)
    SubscriptionFactory()  # another creator's
    return mine.creator, mine


# --- the check itself --------------------------------------------------------------


def test_unscoped_queries_raise_inside_a_tenant_context(two_tenants: Any) -> None:
    creator, _ = two_tenants
    with tenant_context(creator):
        for evaluate in (
            lambda: list(Subscription.objects.all()),
            lambda: Subscription.objects.count(),
            lambda: Subscription.objects.exists(),
            lambda: Subscription.objects.first(),
            lambda: Subscription.objects.get(status="ACTIVE"),
            lambda: list(Subscription.objects.values_list("uuid", flat=True)),
            lambda: list(Subscription.objects.iterator()),
            lambda: Subscription.objects.aggregate(n=__import__("django").db.models.Count("id")),
            lambda: Charge.objects.filter(status="pending").update(status="pending"),
            lambda: SubscriptionEvent.objects.filter(type="nothing").delete(),
            lambda: Plan.objects.in_bulk(),
            # Excluding a creator, or an OR with an unscoped branch, scopes nothing.
            lambda: list(Subscription.objects.exclude(creator=creator)),
            lambda: list(Subscription.objects.filter(Q(creator=creator) | Q(status="ACTIVE"))),
            # An id is not a tenant: it may be anyone's.
            lambda: list(Charge.objects.filter(subscription_id=1)),
            lambda: list(Subscription.objects.filter(creator__isnull=False)),
        ):
            with pytest.raises(TenantScopeError):
                evaluate()


def test_scoped_queries_pass_inside_a_tenant_context(two_tenants: Any) -> None:
    creator, mine = two_tenants
    with tenant_context(creator):
        assert Subscription.objects.filter(creator=creator).count() == 1
        assert Subscription.objects.filter(creator_id=creator.pk).count() == 1
        assert Subscription.objects.filter(creator__uuid=creator.uuid).count() == 1
        assert Charge.objects.filter(subscription__creator=creator).count() == 1
        assert Subscription.objects.filter(Q(creator=creator) & Q(status="ACTIVE")).count() == 1
        assert creator.subscriptions.count() == 1  # related manager of the tenant
        # Children of a parent fetched in scope: by instance, by related manager, by list.
        assert Charge.objects.filter(subscription=mine).count() == 1
        assert mine.charges.count() == 1
        assert Charge.objects.filter(subscription__in=[mine]).count() == 1
        parents = Subscription.objects.filter(creator=creator)
        assert Charge.objects.filter(subscription__in=parents).count() == 1
        # Many-to-many related managers count as scoped by their parent too.
        rule = SegmentationRule.objects.create(creator=creator, name="r", triggers=[], actions=[])
        assert list(rule.integrations.all()) == []
        assert Subscription.objects.unscoped("the test says why").count() == 2
        # Chaining keeps the scope; prefetching children of scoped parents is scoped.
        rows = list(parents.select_related("plan").prefetch_related("charges").order_by("pk"))
        assert [len(r.charges.all()) for r in rows] == [1]


def test_unscoped_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        Subscription.objects.unscoped(" ")


def test_outside_a_tenant_context_nothing_is_checked(two_tenants: Any) -> None:
    assert current_tenant() is None
    assert Subscription.objects.count() == 2
    assert Integration.objects.count() == 0


def test_enforcement_off_logs_an_error_instead(
    two_tenants: Any, settings: Any, caplog: Any
) -> None:
    creator, _ = two_tenants
    settings.TENANT_SCOPE_ENFORCE = False
    with caplog.at_level(logging.ERROR, logger="core.tenancy"), tenant_context(creator):
        assert Subscription.objects.count() == 2
    assert "Unscoped query on tenant-owned Subscription" in caplog.text


def test_workers_run_outside_the_tenant_context(two_tenants: Any) -> None:
    """A task run eagerly inside a tenant's request (tests, on_commit) reloads by id like
    any worker: the check does not apply to it."""
    creator, _ = two_tenants
    with tenant_context(creator):
        assert count_every_subscription.apply().get() == 2
        assert current_tenant() == creator
        with pytest.raises(TenantScopeError):
            Subscription.objects.count()


# --- through real requests --------------------------------------------------------


def _member(creator: Creator) -> Client:
    client = Client(raise_request_exception=True)
    user = MembershipFactory(creator=creator, role=Role.OWNER).user
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_unscoped_query_in_a_dashboard_view_raises(two_tenants: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.reliability.t2_urls"
    creator, _ = two_tenants
    client = _member(creator)
    assert client.get("/t2-dashboard/scoped/").content == b"1"
    with pytest.raises(TenantScopeError, match="Subscription"):
        client.get("/t2-dashboard/unscoped/")
    assert current_tenant() is None  # the middleware left the context


def test_unscoped_query_in_an_api_view_raises(two_tenants: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.reliability.t2_urls"
    creator, _ = two_tenants
    client = api_client(creator)
    client.raise_request_exception = True
    assert client.get("/api/v1/t2-scoped").json() == {"count": 1}
    with pytest.raises(TenantScopeError, match="Subscription"):
        client.get("/api/v1/t2-unscoped")
    assert current_tenant() is None


def test_support_admin_sees_every_tenant(two_tenants: Any) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=True)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/admin/subscriptions/subscription/")
    assert response.status_code == 200
    assert "2 subscriptions" in response.content.decode()


def test_every_creator_owned_model_uses_the_tenant_manager() -> None:
    """A new model holding a creator's data gets the check too (Membership and ApiKey are
    the tenant's access list, read before any tenant is known)."""
    from django.apps import apps

    from core.tenancy import TenantManager

    exempt = {"accounts.Membership", "accounts.ApiKey"}
    for model in apps.get_models():
        label = model._meta.label
        has_creator = any(
            getattr(f, "related_model", None) is Creator and f.many_to_one
            for f in model._meta.get_fields()
        )
        if has_creator and label not in exempt:
            assert isinstance(model._default_manager, TenantManager), label
