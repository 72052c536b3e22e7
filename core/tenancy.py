"""Tenant scope enforcement: a query on a tenant-owned model that forgot its tenant filter
fails loudly in development and tests instead of leaking another creator's rows.

Tenant-owned models use `TenantManager` as their default manager. Its querysets record
whether they were *scoped*:

- filtered on the creator (`creator=`, `creator_id=`, `creator__uuid=`, or a path through
  a relation ending in the creator, e.g. `subscription__creator=`);
- filtered on a relation whose value is an instance (or a list of instances, or a scoped
  queryset) of a tenant-owned model or of `Creator`: the children of a parent that was
  itself fetched inside the tenant (`Charge.objects.filter(subscription=subscription)`,
  and every related manager such as `subscription.charges.all()`);
- or explicitly `.unscoped("why this may see every tenant")`.

While a tenant's request is handled (`tenant_context(creator)`: the dashboard's creator
middleware and the API base view's `initial()` set it), evaluating an unscoped queryset
raises `TenantScopeError` when `settings.TENANT_SCOPE_ENFORCE` is true (development and
tests) and logs an error otherwise. Celery tasks, management commands, the support admin
and subscriber-facing pages run outside any tenant context and are unaffected.

Only the queryset's own evaluation is checked: a tenant queryset used as a subquery of a
scoped query is judged by the outer query.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q

logger = logging.getLogger(__name__)

# The tenant is whatever model `settings.TENANT_MODEL` names ("app_label.Model", like
# AUTH_USER_MODEL): this bottom layer knows no app, the tenant's app knows it.
_current_tenant: ContextVar[models.Model | None] = ContextVar("current_tenant", default=None)

# Lookups that test for absence rather than select a tenant (`creator__isnull=True`).
_NON_SCOPING_LOOKUPS = frozenset({"isnull", "ne"})


class TenantScopeError(RuntimeError):
    """A tenant-owned model was queried without a tenant filter inside a tenant's request."""


def tenant_model() -> type[models.Model]:
    return apps.get_model(settings.TENANT_MODEL)


def current_tenant() -> Any:
    return _current_tenant.get()


@contextmanager
def tenant_context(creator: models.Model | None) -> Iterator[None]:
    """Mark the code inside as serving `creator` (None: outside any tenant)."""
    token = _current_tenant.set(creator)
    try:
        yield
    finally:
        _current_tenant.reset(token)


def enter_tenant_context(creator: models.Model | None) -> Any:
    """For middleware/views that cannot use a `with` block: returns a token for
    `leave_tenant_context`."""
    return _current_tenant.set(creator)


def leave_tenant_context(token: Any) -> None:
    _current_tenant.reset(token)


def is_tenant_model(model: Any) -> bool:
    return isinstance(model, type) and (
        issubclass(model, tenant_model())
        or isinstance(getattr(model, "_default_manager", None), TenantManager)
    )


def _is_scoping_value(value: Any) -> bool:
    if isinstance(value, models.Model):
        return is_tenant_model(type(value))
    if isinstance(value, TenantQuerySet):
        return value._tenant_scoped
    if isinstance(value, list | tuple | set | frozenset):
        return bool(value) and all(_is_scoping_value(v) for v in value)
    return False


def _is_scoping_lookup(key: str, value: Any) -> bool:
    parts = key.split("__")
    if parts[-1] in _NON_SCOPING_LOOKUPS:
        return False
    if "creator" in parts or "creator_id" in parts:
        return value is not None
    return _is_scoping_value(value)


def _child_scopes(child: Any) -> bool:
    return _q_scopes(child) if isinstance(child, Q) else _is_scoping_lookup(child[0], child[1])


def _q_scopes(q: Q) -> bool:
    """A Q scopes the query when one of its AND-ed, non-negated children does (or, for an
    OR, every branch does)."""
    if q.negated:
        return False
    if q.connector == Q.OR:
        return bool(q.children) and all(_child_scopes(c) for c in q.children)
    return any(_child_scopes(c) for c in q.children)


def _enforce() -> bool:
    return bool(getattr(settings, "TENANT_SCOPE_ENFORCE", settings.DEBUG))


M = TypeVar("M", bound=models.Model)


class TenantQuerySet(models.QuerySet[M]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_scoped = False

    def _clone(self) -> TenantQuerySet[M]:
        clone: TenantQuerySet[M] = super()._clone()  # type: ignore[misc]
        clone._tenant_scoped = self._tenant_scoped
        return clone

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: Any) -> TenantQuerySet[M]:
        clone: TenantQuerySet[M] = super()._filter_or_exclude(negate, args, kwargs)  # type: ignore[misc]
        if not negate and not clone._tenant_scoped:
            clone._tenant_scoped = any(_is_scoping_lookup(k, v) for k, v in kwargs.items()) or any(
                _q_scopes(a) for a in args if isinstance(a, Q)
            )
        return clone

    def unscoped(self, reason: str) -> TenantQuerySet[M]:
        """Deliberately across tenants (or scoped in a way the checker cannot see);
        `reason` says why, for the reader."""
        if not reason.strip():
            raise ValueError("unscoped() needs a reason")
        clone = self._clone()
        clone._tenant_scoped = True
        return clone

    def _check_scope(self) -> None:
        if self._tenant_scoped:
            return
        tenant = _current_tenant.get()
        if tenant is None:
            return
        message = (
            f"Unscoped query on tenant-owned {self.model.__name__} while serving creator "
            f"{tenant.pk}: filter by the creator (or a tenant-owned parent instance), or "
            "call .unscoped(reason)."
        )
        if _enforce():
            raise TenantScopeError(message)
        logger.error(message, stack_info=True)

    # --- every way a queryset reaches the database ---------------------------------

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._check_scope()
        super()._fetch_all()  # type: ignore[misc]

    def iterator(self, chunk_size: int | None = None) -> Iterator[M]:
        self._check_scope()
        return super().iterator(chunk_size=chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._check_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._check_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._check_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scope()
        return super().delete()

    def in_bulk(self, id_list: Iterable[Any] | None = None, **kwargs: Any) -> dict[Any, M]:
        self._check_scope()
        return super().in_bulk(id_list, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of every tenant-owned model (see the module docstring)."""

    def get_queryset(self) -> TenantQuerySet[Any]:
        queryset: TenantQuerySet[Any] = super().get_queryset()
        # Related managers (`subscription.charges`, `rule.integrations`, many-to-many
        # included) subclass this one and carry their parent as `instance`; their filter
        # may be on the parent's id, which the lookup check cannot recognise.
        instance = getattr(self, "instance", None)
        if instance is not None and is_tenant_model(type(instance)):
            queryset._tenant_scoped = True
        return queryset
