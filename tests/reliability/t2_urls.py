"""Test-only URLconf for T2: the real site plus one dashboard page and one API view that
query a tenant-owned model, scoped or not (tests/reliability/test_t2_tenant_scope.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import TenantGenericAPIView
from dashboard.access import member_required, membership
from subscriptions.models import Subscription


@member_required
def dashboard_unscoped(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(Subscription.objects.count()))


@member_required
def dashboard_scoped(request: HttpRequest) -> HttpResponse:
    creator = membership(request).creator
    return HttpResponse(str(Subscription.objects.filter(creator=creator).count()))


class ApiUnscoped(TenantGenericAPIView):
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"count": Subscription.objects.count()})


class ApiScoped(TenantGenericAPIView):
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"count": Subscription.objects.filter(creator=self.tenant).count()})


t2_dashboard = (
    [
        path("unscoped/", dashboard_unscoped, name="t2_unscoped"),
        path("scoped/", dashboard_scoped, name="t2_scoped"),
    ],
    "dashboard",  # the creator middleware sets the tenant context for this app's pages
)

urlpatterns = [
    path("t2-dashboard/", include(t2_dashboard, namespace="t2")),
    path("api/v1/t2-unscoped", ApiUnscoped.as_view()),
    path("api/v1/t2-scoped", ApiScoped.as_view()),
    path("", include("config.urls")),
]
