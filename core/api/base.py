"""The one base class of every tenant API view (after PostHog's TeamAndOrgViewSetMixin).

Subclasses declare `scope_field` (the path from their model to the Creator, default
"creator") and implement `get_scoped_queryset()`; `get_queryset()` is final and always
filters by the caller's creator, so a subclass cannot forget or bypass the tenant wall.
Viewers may read and get 403 on every write.

Authentication is the tenant app's: `settings.API_AUTHENTICATION_CLASSES` names the
classes (dotted paths) that set `request.tenant` and `request.can_write`.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.module_loading import import_string
from rest_framework import authentication, generics, permissions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api.pagination import CursorPagination
from core.api.parsers import JSONParser
from core.api.schema import ApiAutoSchema
from core.api.throttling import ApiKeyRateThrottle
from core.tenancy import enter_tenant_context, leave_tenant_context


class IsTenantMember(permissions.BasePermission):
    message = "Your role can read but not change this creator's data."

    def has_permission(self, request: Request, view: APIView) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(getattr(request._request, "can_write", False))


class TenantGenericAPIView(generics.GenericAPIView):  # type: ignore[type-arg]
    permission_classes = [IsTenantMember]
    parser_classes = [JSONParser]
    throttle_classes = [ApiKeyRateThrottle]
    pagination_class = CursorPagination
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    scope_field: ClassVar[str] = "creator"
    schema = ApiAutoSchema()

    @property
    def tenant(self) -> Any:
        return self.request._request.tenant  # type: ignore[attr-defined]

    def get_authenticators(self) -> list[authentication.BaseAuthentication]:
        return [import_string(path)() for path in settings.API_AUTHENTICATION_CLASSES]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Authenticated and permitted: from here on every query on a tenant-owned model
        # must be scoped (core.tenancy); dispatch() leaves the context.
        tenant = getattr(request._request, "tenant", None)
        if tenant is not None:
            self._tenant_token = enter_tenant_context(tenant)

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # finally, not finalize_response: an unexpected exception skips that, and the
        # context would stay on this thread for its next request.
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            token = self.__dict__.pop("_tenant_token", None)
            if token is not None:
                leave_tenant_context(token)

    def get_scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation inspects the model without a request: nothing to scope.
            return self.get_scoped_queryset().none()
        return self.get_scoped_queryset().filter(**{self.scope_field: self.tenant})

    def get_object(self) -> Any:
        # A malformed id is just an unknown id: 404, never a 400 or 500 from the database.
        if not is_uuid(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)):
            raise Http404
        return super().get_object()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); implement get_scoped_queryset() "
                "instead so the tenant filter always applies."
            )


class TenantViewSet(viewsets.ViewSetMixin, TenantGenericAPIView):
    """Base of every tenant API viewset; add DRF's mixins for the actions you need."""


M = TypeVar("M", bound=Model)


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def get_tenant_object(queryset: QuerySet[M], tenant: Model, **lookup: Any) -> M:
    """Fetch one object inside the tenant, 404 (never 403) when it is elsewhere or missing."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(queryset.filter(creator=tenant), **lookup)


class UUIDLookupMixin:
    """A malformed id is a missing object (404), not a 400 or a 500."""

    def get_object(self) -> Any:
        if not is_uuid(self.kwargs.get("id", "")):  # type: ignore[attr-defined]
            raise Http404
        return super().get_object()  # type: ignore[misc]


def validated(serializer_class: type[Any], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """The serializer's validated data, or the API's 400 with per-field details."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
