"""Bulk actions on the subscriptions table: the hook other apps plug into.

The table lets a writer tick rows or "select all N matching" and pick an action; the
dashboard validates the selection and hands it to the action's handler, which owns the
work (e.g. the reactivation app queues the requests and answers with its progress page).

An app registers its action from its AppConfig.ready():

    from dashboard.bulk import BulkAction, register_bulk_action
    register_bulk_action(BulkAction(
        name="reactivation_request",
        label=_("Send reactivation request"),
        handler=reactivation_bulk_request,          # (request, selection) -> HttpResponse
        fields_template="reactivation/_bulk_fields.html",  # extra inputs, e.g. the mode
    ))

No action registered: the table shows no checkboxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise

from accounts.models import Creator
from dashboard.selectors import SubscriptionFilters, subscriptions_filtered
from subscriptions.models import Subscription


@dataclass(frozen=True)
class BulkSelection:
    """Either the ticked rows or every row matching the filters, always inside `creator`."""

    creator: Creator
    filters: SubscriptionFilters
    uuids: tuple[UUID, ...] = ()
    all_matching: bool = False

    def subscriptions(self) -> QuerySet[Subscription]:
        queryset = subscriptions_filtered(creator=self.creator, filters=self.filters)
        if self.all_matching:
            return queryset
        return queryset.filter(uuid__in=self.uuids)


BulkHandler = Callable[[HttpRequest, BulkSelection], HttpResponse]
# Runs in the background task of a `BulkJob`: (job, selection) -> result stored on the job.
BulkRunner = Callable[[Any, BulkSelection], dict[str, Any]]


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str | Promise
    handler: BulkHandler
    fields_template: str = ""
    runner: BulkRunner | None = None


_ACTIONS: dict[str, BulkAction] = {}


def register_bulk_action(action: BulkAction) -> None:
    _ACTIONS[action.name] = action


def unregister_bulk_action(name: str) -> None:
    _ACTIONS.pop(name, None)


def bulk_actions() -> list[BulkAction]:
    return list(_ACTIONS.values())


def bulk_action_get(name: str) -> BulkAction | None:
    return _ACTIONS.get(name)
