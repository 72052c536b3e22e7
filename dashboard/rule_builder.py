"""The segmentation builder's form: rows of conditions and actions posted as flat fields
(`cond-<key>-field`, `act-<key>-type`, …, in the order of the `cond_keys` / `act_keys`
inputs), turned into the rule body that `segmentation.validation.rule_clean` checks. Rows
are keyed, not numbered, so htmx can add and remove one without renumbering the others;
an error about `conditions[2]` is shown next to the third row on the page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Creator
from notifications.models import Integration
from notifications.providers import ListInfo, TagInfo, provider_class
from notifications.selectors import ProviderUnavailable, integration_lists, integration_tags
from segmentation.conditions import EMPTINESS, ENUM, FIELDS, UUID_T, ops_for
from segmentation.facts import TRIGGERS
from segmentation.models import SegmentationRule
from segmentation.placeholders import PLACEHOLDERS
from segmentation.validation import ACTION_TYPES, LIST_ACTIONS, TAG_ACTIONS
from subscriptions.events import EventType
from subscriptions.models import Plan, Status
from subscriptions.reactivation_rules import ReactivationMode

MULTI_OPS = ("in", "not_in")

FIELD_LABELS: dict[str, str | Promise] = {
    "plan": _("Plan"),
    "price": _("Price"),
    "currency": _("Currency"),
    "period": _("Billing period"),
    "recurrence": _("Periods paid"),
    "days_since_start": _("Days since start"),
    "cancellation_reason": _("Cancellation reason"),
    "previous_status": _("Previous status"),
    "subscriber.email": _("Subscriber email"),
    "subscriber.locale": _("Subscriber language"),
    "reactivation.mode": _("Reactivation mode"),
    "retention.offer": _("Offer to stay"),
}
OP_LABELS: dict[str, str | Promise] = {
    "eq": _("is"),
    "ne": _("is not"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "gt": _("greater than"),
    "gte": _("at least"),
    "lt": _("less than"),
    "lte": _("at most"),
    "contains": _("contains"),
    "not_contains": _("does not contain"),
    "starts_with": _("starts with"),
    "ends_with": _("ends with"),
    "is_empty": _("is empty"),
    "is_not_empty": _("is not empty"),
}
ACTION_LABELS: dict[str, str | Promise] = {
    "add_to_list": _("Add to list"),
    "remove_from_list": _("Remove from list"),
    "add_tag": _("Add tag"),
    "remove_tag": _("Remove tag"),
    "send_email": _("Send an email"),
}
LOCALE_LABELS: dict[str, str | Promise] = {"pt-BR": "Português (Brasil)", "en": "English"}


def trigger_choices() -> list[tuple[str, str | Promise]]:
    labels: dict[str, str | Promise] = {**dict(Status.choices), **dict(EventType.choices)}
    return [(t, labels.get(t, t)) for t in TRIGGERS]


def new_key() -> str:
    return secrets.token_hex(4)


@dataclass
class ConditionRow:
    key: str
    field: str = "recurrence"
    op: str = "gte"
    value: Any = ""
    errors: list[str] = dc_field(default_factory=list)

    @property
    def spec(self) -> Any:
        return FIELDS.get(self.field) or FIELDS["recurrence"]

    def op_choices(self) -> list[tuple[str, str | Promise]]:
        return [(op, OP_LABELS[op]) for op in ops_for(self.spec)]

    @property
    def takes_value(self) -> bool:
        return self.op not in EMPTINESS

    @property
    def multiple(self) -> bool:
        return self.op in MULTI_OPS

    def value_choices(self, plans: list[Plan]) -> list[tuple[str, str | Promise]]:
        spec = self.spec
        if spec.type == UUID_T:
            return [(str(p.uuid), str(p)) for p in plans]
        if spec.type == ENUM:
            labels: dict[str, Any] = {
                **dict(Status.choices),
                **dict(ReactivationMode.choices),
                **LOCALE_LABELS,
            }
            from subscriptions.models import Period, RecoveryPolicy

            labels.update(dict(Period.choices))
            labels.update(
                {k: v for k, v in RecoveryPolicy.RetentionOffer.choices if k}  # not "No offer"
            )
            return [(c, labels.get(c, c)) for c in spec.choices]
        return []

    def selected(self) -> list[str]:
        return [str(v) for v in self.value] if isinstance(self.value, list) else [str(self.value)]

    def value_text(self) -> str:
        return ", ".join(self.selected()) if isinstance(self.value, list) else str(self.value)

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.takes_value:
            data["value"] = self.value
        return data


@dataclass
class ActionRow:
    key: str
    type: str = "add_tag"
    integration: str = ""
    list_id: str = ""
    tag: str = ""
    subject: str = ""
    body: str = ""
    errors: list[str] = dc_field(default_factory=list)
    # Filled by `load_provider_options` for the dropdowns.
    lists: list[ListInfo] = dc_field(default_factory=list)
    tags: list[TagInfo] = dc_field(default_factory=list)
    provider_error: str = ""
    needs_list: bool = False
    takes_tag: bool = False
    # What the provider does with a tag name it does not have yet (see
    # EmailMarketingProvider.creates_tags / supports_tags), for the tag field's hint.
    creates_tags: bool = False
    supports_tags: bool = True
    provider_label: str = ""

    @property
    def is_email(self) -> bool:
        return self.type == "send_email"

    def as_data(self) -> dict[str, Any]:
        if self.is_email:
            return {"type": "send_email", "subject": self.subject, "body": self.body}
        data: dict[str, Any] = {"type": self.type, "integration": self.integration}
        if self.list_id:
            data["list"] = self.list_id
        if self.type in TAG_ACTIONS:
            data["tag"] = self.tag
        return data


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def condition_from_post(post: QueryDict, key: str) -> ConditionRow:
    prefix = f"cond-{key}-"
    name = post.get(prefix + "field", "recurrence")
    row = ConditionRow(key=key, field=name if name in FIELDS else "recurrence")
    ops = ops_for(row.spec)
    op = post.get(prefix + "op", "")
    row.op = op if op in ops else ops[0]
    if row.multiple:
        values = post.getlist(prefix + "value")
        # A select posts one value per option; a text input posts "a, b, c".
        row.value = [v for raw in values for v in _split(raw)]
    else:
        row.value = (post.get(prefix + "value") or "").strip()
    return row


def action_from_post(post: QueryDict, key: str) -> ActionRow:
    prefix = f"act-{key}-"
    kind = post.get(prefix + "type", "add_tag")
    return ActionRow(
        key=key,
        type=kind if kind in ACTION_TYPES else "add_tag",
        integration=post.get(prefix + "integration", ""),
        list_id=(post.get(prefix + "list") or "").strip(),
        tag=(post.get(prefix + "tag") or "").strip(),
        subject=post.get(prefix + "subject", ""),
        body=post.get(prefix + "body", ""),
    )


@dataclass
class Builder:
    """Everything the builder page shows, from a rule or from a POST."""

    name: str = ""
    product: str = ""
    triggers: list[str] = dc_field(default_factory=list)
    match: str = "all"
    is_active: bool = True
    conditions: list[ConditionRow] = dc_field(default_factory=list)
    actions: list[ActionRow] = dc_field(default_factory=list)
    errors: dict[str, list[str]] = dc_field(default_factory=dict)

    @classmethod
    def from_rule(cls, rule: SegmentationRule | None) -> Builder:
        if rule is None:
            return cls(actions=[ActionRow(key=new_key())])
        return cls(
            name=rule.name,
            product=str(rule.product.uuid) if rule.product else "",
            triggers=list(rule.triggers),
            match=rule.match,
            is_active=rule.is_active,
            conditions=[
                ConditionRow(key=new_key(), field=c["field"], op=c["op"], value=c.get("value", ""))
                for c in rule.conditions
            ],
            actions=[
                ActionRow(
                    key=new_key(),
                    type=a["type"],
                    integration=a.get("integration", ""),
                    list_id=a.get("list", ""),
                    tag=a.get("tag", ""),
                    subject=a.get("subject", ""),
                    body=a.get("body", ""),
                )
                for a in rule.actions
            ],
        )

    @classmethod
    def from_post(cls, post: QueryDict) -> Builder:
        return cls(
            name=post.get("name", "").strip(),
            product=post.get("product", ""),
            triggers=[t for t in post.getlist("triggers") if t in TRIGGERS],
            match=post.get("match", "all"),
            is_active=post.get("is_active") == "on",
            conditions=[condition_from_post(post, k) for k in post.getlist("cond_keys")],
            actions=[action_from_post(post, k) for k in post.getlist("act_keys")],
        )

    def as_data(self, *, with_actions: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "product": self.product or None,
            "triggers": self.triggers,
            "match": self.match,
            "conditions": [c.as_data() for c in self.conditions],
            "is_active": self.is_active,
        }
        if with_actions:
            data["actions"] = [a.as_data() for a in self.actions]
        return data

    def attach_errors(self, errors: dict[str, list[str]]) -> None:
        """Put `conditions[i]` / `actions[i]` messages on their rows, the rest on top."""
        self.errors = {}
        for row, messages in errors.items():
            for prefix, rows in (("conditions[", self.conditions), ("actions[", self.actions)):
                if row.startswith(prefix) and row.endswith("]"):
                    index = int(row[len(prefix) : -1])
                    if 0 <= index < len(rows):
                        rows[index].errors.extend(messages)
                        break
            else:
                name = row.split("[", 1)[0]
                self.errors.setdefault(name, []).extend(messages)


class ProviderOptions:
    """The provider's lists and tags for the action dropdowns, read once per request."""

    def __init__(self, integrations: list[Integration]) -> None:
        self.by_uuid = {str(i.uuid): i for i in integrations}
        self._lists: dict[str, list[ListInfo] | str] = {}
        self._tags: dict[tuple[str, str], list[TagInfo] | str] = {}

    def fill(self, row: ActionRow) -> None:
        integration = self.by_uuid.get(row.integration)
        if row.is_email or integration is None:
            return
        try:
            adapter = provider_class(integration.provider)
        except LookupError:
            return
        tags_need_list = adapter.tags_need_list
        row.needs_list = row.type in LIST_ACTIONS or (row.type in TAG_ACTIONS and tags_need_list)
        row.takes_tag = row.type in TAG_ACTIONS
        row.creates_tags = adapter.creates_tags
        row.supports_tags = adapter.supports_tags
        row.provider_label = adapter.label
        if row.needs_list:
            if row.integration not in self._lists:
                try:
                    self._lists[row.integration] = integration_lists(integration=integration)
                except ProviderUnavailable as exc:
                    self._lists[row.integration] = exc.message
            found = self._lists[row.integration]
            if isinstance(found, str):
                row.provider_error = found
            else:
                row.lists = found
        if row.takes_tag and (row.list_id or not tags_need_list):
            key = (row.integration, row.list_id if tags_need_list else "")
            if key not in self._tags:
                try:
                    self._tags[key] = integration_tags(
                        integration=integration, list_id=key[1] or None
                    )
                except ProviderUnavailable as exc:
                    self._tags[key] = exc.message
            found_tags = self._tags[key]
            if isinstance(found_tags, str):
                row.provider_error = found_tags
            else:
                row.tags = found_tags


def builder_context(creator: Creator) -> dict[str, Any]:
    from notifications.selectors import integration_list
    from subscriptions.models import Product

    return {
        "products": list(Product.objects.filter(creator=creator).order_by("name", "id")),
        "plans": list(
            Plan.objects.filter(creator=creator).select_related("product").order_by("name", "id")
        ),
        "integrations": list(integration_list(creator=creator)),
        "trigger_choices": trigger_choices(),
        "field_choices": [(name, FIELD_LABELS.get(name, name)) for name in FIELDS],
        "action_choices": [(t, ACTION_LABELS[t]) for t in ACTION_TYPES],
        "placeholders": PLACEHOLDERS,
    }
