"""Validation of a rule's body (SPEC §8.1): every message names the row it is about,
e.g. `conditions[2]: operator 'gt' does not apply to text field 'subscriber.email'`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError

from accounts.models import Creator
from notifications.models import Integration
from notifications.providers import provider_class
from segmentation.conditions import ConditionError, condition_clean
from segmentation.facts import TRIGGERS
from segmentation.placeholders import PLACEHOLDERS, unknown_placeholders
from subscriptions.models import Plan, Product

PROVIDER_ACTIONS = ("add_to_list", "remove_from_list", "add_tag", "remove_tag")
ACTION_TYPES = (*PROVIDER_ACTIONS, "send_email")
LIST_ACTIONS = ("add_to_list", "remove_from_list")
TAG_ACTIONS = ("add_tag", "remove_tag")
MAX_CONDITIONS = 50
MAX_ACTIONS = 10
MAX_SUBJECT = 200
MAX_BODY = 20000


class RuleInvalid(ValidationError):
    """A rule body that cannot be saved; `errors` maps a row (`conditions[2]`) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors

    @property
    def lines(self) -> list[str]:
        return [f"{row}: {m}" for row, messages in self.errors.items() for m in messages]


@dataclass
class CleanRule:
    name: str
    product: Product | None
    triggers: list[str]
    match: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    integrations: list[Integration]
    is_active: bool


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError):
        return None


def rule_clean(
    *, creator: Creator, data: Mapping[str, Any], require_actions: bool = True
) -> CleanRule:
    """Check a full rule body against the creator's own products, plans and integrations.

    Another creator's product, plan or integration is reported exactly like an unknown one.
    """
    errors: dict[str, list[str]] = {}

    def add(row: str, message: str) -> None:
        errors.setdefault(row, []).append(message)

    name = data.get("name")
    if require_actions and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        add("name", "give the rule a name of at most 200 characters")

    product = None
    if data.get("product") is not None:
        product_uuid = _uuid(data["product"])
        product = (
            Product.objects.filter(creator=creator, uuid=product_uuid).first()
            if product_uuid
            else None
        )
        if product is None:
            add("product", f"unknown product {data['product']!r}")

    triggers = data.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        add("triggers", f"choose one or more of {', '.join(TRIGGERS)}")
        triggers = []
    for i, trigger in enumerate(triggers):
        if trigger not in TRIGGERS:
            add(f"triggers[{i}]", f"unknown trigger {trigger!r}; use one of {', '.join(TRIGGERS)}")
    if len(set(map(str, triggers))) != len(triggers):
        add("triggers", "a trigger is listed twice")

    match = data.get("match", "all")
    if match not in ("all", "any"):
        add("match", f"match is 'all' or 'any', not {match!r}")

    conditions: list[dict[str, Any]] = []
    raw_conditions = data.get("conditions") or []
    if not isinstance(raw_conditions, list) or len(raw_conditions) > MAX_CONDITIONS:
        add("conditions", f"conditions is a list of at most {MAX_CONDITIONS} rows")
        raw_conditions = []
    for i, raw in enumerate(raw_conditions):
        try:
            conditions.append(condition_clean(raw))
        except ConditionError as exc:
            add(f"conditions[{i}]", str(exc))
    plan_ids = {
        v
        for c in conditions
        if c["field"] == "plan"
        for v in (c["value"] if isinstance(c["value"], list) else [c["value"]])
    }
    if plan_ids:
        known = {
            str(u)
            for u in Plan.objects.filter(creator=creator, uuid__in=plan_ids).values_list(
                "uuid", flat=True
            )
        }
        for i, c in enumerate(conditions):
            values = c["value"] if isinstance(c["value"], list) else [c["value"]]
            if c["field"] == "plan" and any(v not in known for v in values):
                add(
                    f"conditions[{i}]",
                    f"unknown plan {next(v for v in values if v not in known)!r}",
                )

    actions, integrations = _actions_clean(
        creator=creator, raw_actions=data.get("actions"), add=add, required=require_actions
    )
    is_active = data.get("is_active", True)
    if not isinstance(is_active, bool):
        add("is_active", "is_active is true or false")
    if errors:
        raise RuleInvalid(errors)
    return CleanRule(
        name=(name or "").strip(),
        product=product,
        triggers=list(triggers),
        match=match,
        conditions=conditions,
        actions=actions,
        integrations=integrations,
        is_active=bool(is_active),
    )


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    return value.strip()


def _actions_clean(
    *, creator: Creator, raw_actions: Any, add: Any, required: bool
) -> tuple[list[dict[str, Any]], list[Integration]]:
    if raw_actions is None and not required:
        return [], []
    if not isinstance(raw_actions, list) or (required and not raw_actions):
        add("actions", f"actions is a list of 1 to {MAX_ACTIONS} actions")
        return [], []
    if len(raw_actions) > MAX_ACTIONS:
        add("actions", f"a rule has at most {MAX_ACTIONS} actions")
        return [], []
    wanted = {
        u for a in raw_actions if isinstance(a, Mapping) and (u := _uuid(a.get("integration")))
    }
    by_uuid = {str(i.uuid): i for i in Integration.objects.filter(creator=creator, uuid__in=wanted)}
    actions: list[dict[str, Any]] = []
    used: dict[str, Integration] = {}
    for i, raw in enumerate(raw_actions):
        row = f"actions[{i}]"
        if not isinstance(raw, Mapping):
            add(row, 'an action is an object {"type", "integration", ...}')
            continue
        kind = raw.get("type")
        if kind not in ACTION_TYPES:
            add(row, f"unknown action type {kind!r}; use one of {', '.join(ACTION_TYPES)}")
            continue
        if kind == "send_email":
            action = _send_email_clean(raw, row, add)
            if action is not None:
                actions.append(action)
            continue
        integration_uuid = _uuid(raw.get("integration"))
        integration = by_uuid.get(str(integration_uuid)) if integration_uuid else None
        if integration is None:
            add(row, f"unknown integration {raw.get('integration')!r}")
            continue
        try:
            tags_need_list = provider_class(integration.provider).tags_need_list
        except LookupError:
            add(row, f"integration '{integration.name}' uses an unknown provider")
            continue
        action = {"type": kind, "integration": str(integration.uuid)}
        list_id, tag = raw.get("list"), raw.get("tag")
        needs_list = kind in LIST_ACTIONS or (kind in TAG_ACTIONS and tags_need_list)
        if needs_list:
            list_id = _text(list_id, 200)
            if list_id is None:
                why = (
                    f"{integration.provider} keeps tags inside a list: choose the list too"
                    if kind in TAG_ACTIONS
                    else "choose the list"
                )
                add(row, f"{kind} needs 'list' ({why})")
                continue
            action["list"] = list_id
        if kind in TAG_ACTIONS:
            tag = _text(tag, 200)
            if tag is None:
                add(row, f"{kind} needs 'tag'")
                continue
            action["tag"] = tag
        actions.append(action)
        used[str(integration.uuid)] = integration
    return actions, list(used.values())


def _send_email_clean(raw: Mapping[str, Any], row: str, add: Any) -> dict[str, Any] | None:
    if raw.get("integration") not in (None, ""):
        add(row, "send_email goes out through the platform's email; it takes no 'integration'")
        return None
    subject, body = _text(raw.get("subject"), MAX_SUBJECT), _text(raw.get("body"), MAX_BODY)
    ok = True
    if subject is None:
        add(row, f"send_email needs a 'subject' of at most {MAX_SUBJECT} characters")
        ok = False
    if body is None:
        add(row, f"send_email needs a 'body' of at most {MAX_BODY} characters")
        ok = False
    for part, text in (("subject", subject), ("body", body)):
        unknown = unknown_placeholders(text or "")
        if unknown:
            add(
                row,
                f"unknown placeholder {{{{ {unknown[0]} }}}} in {part}; "
                f"use {', '.join('{{ ' + p + ' }}' for p in PLACEHOLDERS)}",
            )
            ok = False
    if not ok:
        return None
    return {"type": "send_email", "subject": subject, "body": body}
