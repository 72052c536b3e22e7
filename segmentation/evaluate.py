"""The Python evaluator of whole rules: does this event trigger the rule, is this
subscription in its segment. Mirrors `segmentation.compiler` (see its docstring)."""

from __future__ import annotations

from datetime import date

from segmentation.compiler import RuleSpec
from segmentation.facts import event_facts, subscription_facts, trigger_for_event
from subscriptions.models import Subscription, SubscriptionEvent


def event_triggers_rule(
    spec: RuleSpec, event: SubscriptionEvent, subscription: Subscription
) -> bool:
    trigger = trigger_for_event(event)
    if trigger is None or trigger not in spec.triggers:
        return False
    if spec.product_id is not None and subscription.plan.product_id != spec.product_id:
        return False
    return spec.predicate(event_facts(event, subscription))


def subscription_in_segment(spec: RuleSpec, subscription: Subscription, *, today: date) -> bool:
    if spec.product_id is not None and subscription.plan.product_id != spec.product_id:
        return False
    if spec.status_triggers and subscription.status not in spec.status_triggers:
        return False
    return spec.predicate(subscription_facts(subscription, today=today))
