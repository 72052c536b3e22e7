"""The outbox consumer: turns each subscription event into deliveries (SPEC §8.2).

Runs inside `subscriptions.tasks.process_event` (queue `events`) for every event. It is
idempotent per event: deliveries are unique on (event, rule, action_index) and inserted
with ON CONFLICT DO NOTHING, so a re-published event never acts twice; every still
pending delivery of the event is (re)queued after commit, which also heals an enqueue lost
when a worker died between the insert and the publish.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from core.bulk import insert_new_rows
from core.enqueue import enqueue_chunks
from notifications.models import Integration
from segmentation.compiler import RuleSpec
from segmentation.evaluate import event_triggers_rule
from segmentation.facts import trigger_for_event
from segmentation.models import SegmentationDelivery, SegmentationRule
from subscriptions.models import SubscriptionEvent
from subscriptions.outbox import event_subscription

logger = logging.getLogger(__name__)
# Deliveries per broker message, claimed and recorded together. Small enough that one
# slow provider holds back few others and several workers share a big requeue.
ENQUEUE_CHUNK = 20
# Compiled rule specs by (rule id, updated_at): every save bumps updated_at, so an edited
# rule is compiled again; compiling 20 rules per event was a third of its cost.
_SPECS: dict[tuple[int, object], RuleSpec] = {}
_SPECS_MAX = 2000
_INTEGRATION_IDS: dict[tuple[int, UUID], int] = {}


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Hand deliveries to the `deliveries` queue; a broker outage is left to the job."""
    from segmentation.tasks import deliveries_run, delivery_run

    enqueue_chunks(
        delivery_ids,
        size=ENQUEUE_CHUNK,
        many=deliveries_run,
        one=delivery_run,
        queue="deliveries",
        what="deliveries",
    )


def rules_for_trigger(*, creator_id: int, trigger: str) -> list[SegmentationRule]:
    """The creator's active rules for one trigger, in one query."""
    return list(
        SegmentationRule.objects.filter(
            creator_id=creator_id, is_active=True, trigger_keys__contains=f"|{trigger}|"
        ).order_by("id")
    )


def rule_spec(rule: SegmentationRule) -> RuleSpec:
    """The rule's compiled spec, from this process's cache when the rule is unchanged."""
    key = (rule.pk, rule.updated_at)
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) >= _SPECS_MAX:
            _SPECS.clear()
        spec = _SPECS[key] = rule.spec
    return spec


def segmentation_consume(event: SubscriptionEvent) -> None:
    """The outbox consumer (registered in SegmentationConfig.ready)."""
    deliveries_create_for_event(event)


def deliveries_create_for_event(event: SubscriptionEvent) -> int:
    """Create the deliveries an event calls for; returns how many are pending."""
    trigger = trigger_for_event(event)
    if trigger is None:
        return 0
    rules = rules_for_trigger(creator_id=event.creator_id, trigger=trigger)
    if not rules:
        return 0
    subscription = event_subscription(event)
    matching = [r for r in rules if event_triggers_rule(rule_spec(r), event, subscription)]
    if not matching:
        return 0
    integration_ids = _integration_ids(
        event.creator_id,
        {_uuid_key(a.get("integration")) for r in matching for a in r.actions},
    )
    now = timezone.now()
    subscriber = subscription.subscriber
    rows = [
        SegmentationDelivery(
            creator_id=event.creator_id,
            rule=rule,
            event=event,
            integration_id=integration_ids.get(_uuid_key(action.get("integration"))),
            action_index=index,
            action_type=action["type"],
            action=action,
            contact_email=subscriber.email,
            contact_name=subscriber.name,
            contact_locale=subscriber.locale,
            next_attempt_at=now,
        )
        for rule in matching
        for index, action in enumerate(rule.actions)
    ]
    pending = insert_new_rows(rows)
    if len(pending) != len(rows):  # processed before: queue again what is still pending
        pending = list(
            SegmentationDelivery.objects.filter(
                event=event, status=SegmentationDelivery.Status.PENDING
            ).values_list("pk", flat=True)
        )
    transaction.on_commit(lambda: deliveries_enqueue(pending))
    return len(pending)


def _integration_ids(creator_id: int, uuids: set[UUID | None]) -> dict[UUID | None, int]:
    """Primary keys of the creator's integrations by uuid. A uuid never changes owner or
    key, and an integration a rule uses cannot be deleted, so known pairs are cached."""
    wanted = {u for u in uuids if u is not None}
    missing = {u for u in wanted if (creator_id, u) not in _INTEGRATION_IDS}
    if missing:
        if len(_INTEGRATION_IDS) >= _SPECS_MAX:
            _INTEGRATION_IDS.clear()
        for uuid, pk in Integration.objects.filter(
            creator_id=creator_id, uuid__in=missing
        ).values_list("uuid", "pk"):
            _INTEGRATION_IDS[(creator_id, uuid)] = pk
    return {
        u: _INTEGRATION_IDS[(creator_id, u)] for u in wanted if (creator_id, u) in _INTEGRATION_IDS
    }


def _uuid_key(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None
