"""The event vocabulary (SPEC §4.5): every emitted type is known, labelled in both
languages and flagged for segmentation and webhooks; the lists elsewhere derive from it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import translation

from segmentation.facts import EVENT_TRIGGERS
from subscriptions.events import (
    SEGMENTATION_EVENT_TRIGGERS,
    WEBHOOK_EVENT_TYPES,
    EventType,
    event_type_label,
    flags,
)
from subscriptions.models import SubscriptionEvent
from subscriptions.outbox import UnknownEventType, event_record, events_record_bulk
from tests.factories import SubscriptionFactory
from webhooks.services import EVENT_TYPES as WEBHOOK_EVENTS

ROOT = Path(settings.BASE_DIR)
# Calls that write a SubscriptionEvent (`type=`), and the events transitions return
# (`Event(type, data)`).
_EMITTERS = {"event_record", "SubscriptionEvent", "Event"}
# Functions that pass on events built elsewhere (and checked here at their emit site).
_FORWARDERS = {
    ("subscriptions/services.py", "transition_record"),
    ("subscriptions/outbox.py", "event_record"),
}


def _project_modules() -> list[Path]:
    skip = {".venv", "tests", "bench", "node_modules", "migrations", "static"}
    return [
        path for path in ROOT.rglob("*.py") if not skip & set(path.relative_to(ROOT).parts[:-1])
    ]


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _vocabulary_members(value: ast.expr) -> list[str] | None:
    """The EventType members an emit's `type=` names, or None when it names anything
    else (a bare string, a variable): every emit site must say which member it writes."""
    if isinstance(value, ast.IfExp):
        body, orelse = _vocabulary_members(value.body), _vocabulary_members(value.orelse)
        return None if body is None or orelse is None else body + orelse
    if (
        isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "EventType"
    ):
        return [value.attr]
    return None


def emit_sites() -> list[tuple[str, int, list[str] | None]]:
    sites = []
    for path in _project_modules():
        where = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), filename=str(path))
        skipped: set[ast.AST] = set()
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef) and (where, function.name) in _FORWARDERS:
                skipped.update(ast.walk(function))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or node in skipped or _callee(node) not in _EMITTERS:
                continue
            types = [k.value for k in node.keywords if k.arg == "type"]
            if _callee(node) == "Event" and node.args:
                types.append(node.args[0])
            for value in types:
                sites.append((where, node.lineno, _vocabulary_members(value)))
    return sites


def test_every_emit_site_names_a_member_of_the_vocabulary():
    sites = emit_sites()
    assert len(sites) >= 14  # the emit sites of SPEC §4.5's types
    bad = [
        f"{where}:{line}"
        for where, line, members in sites
        if members is None or any(m not in EventType.__members__ for m in members)
    ]
    assert bad == [], "emit with a type the vocabulary does not know"


def test_every_member_is_emitted_somewhere():
    emitted = {m for _, _, members in emit_sites() for m in members or []}
    assert emitted == set(EventType.__members__)


@pytest.mark.django_db
def test_an_unknown_type_is_refused_and_nothing_is_written():
    subscription = SubscriptionFactory()
    with pytest.raises(UnknownEventType), transaction.atomic():
        event_record(subscription=subscription, type="subscription.teleported")  # type: ignore[arg-type]
    with pytest.raises(UnknownEventType), transaction.atomic():
        events_record_bulk(
            [
                SubscriptionEvent(
                    creator_id=subscription.creator_id,
                    subscription=subscription,
                    type="charge.maybe",
                    occurred_at=subscription.created_at,
                )
            ]
        )
    assert not SubscriptionEvent.objects.filter(subscription=subscription).exists()


def portuguese_catalog() -> Any:
    from django.utils.translation import trans_real

    return trans_real.translation("pt-br")._catalog  # type: ignore[attr-defined]


def test_every_type_is_labelled_in_english_and_portuguese():
    catalog = portuguese_catalog()
    for event_type in EventType:
        with translation.override("en"):
            english = event_type_label(event_type.value)
        with translation.override("pt-br"):
            portuguese = event_type_label(event_type.value)
        assert english not in ("", event_type.value)
        # Translated ("Chargeback" stays "Chargeback" in Portuguese, but is in the catalog).
        assert english in catalog and portuguese == catalog[english], event_type.value


def test_consumers_take_their_lists_from_the_flags():
    assert set(EVENT_TRIGGERS) == {t for t in EventType.values if flags(t).segmentation_trigger}
    assert EVENT_TRIGGERS == SEGMENTATION_EVENT_TRIGGERS
    assert WEBHOOK_EVENTS == WEBHOOK_EVENT_TYPES
    # SPEC §8.1's event triggers (and §4.6's payment recovery ones) and §9's webhook events.
    assert set(EVENT_TRIGGERS) == {
        "charge.failed",
        "payment_method.updated",
        "subscription.recovered",
        "renewal.upcoming",
        "payment_method.expiring",
        "subscription.plan_changed",
        "subscription.paused",
        "subscription.resumed",
        "subscription.retained",
        "trial.started",
        "trial.ending",
        "trial.converted",
        "charge.refunded",
        "charge.chargeback",
        "reactivation.requested",
        "reactivation.accepted",
        "reactivation.rejected",
        "reactivation.expired",
    }
    assert set(WEBHOOK_EVENTS) == set(EventType.values)


def test_the_model_offers_the_vocabulary_as_choices():
    field = SubscriptionEvent._meta.get_field("type")
    assert [value for value, _ in field.choices] == EventType.values  # type: ignore[union-attr]
