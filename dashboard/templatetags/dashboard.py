"""Formatting for the active language: money in its currency, numbers, event names."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.numbers import format_currency, format_decimal, format_percent
from django import template
from django.http import QueryDict
from django.utils import formats
from django.utils.dateparse import parse_date
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dashboard.charts import babel_locale
from subscriptions.events import event_type_label

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    """`{{ charge.amount|money:charge.currency }}` → "R$ 49,90" in pt-BR, "R$49.90" in en."""
    if amount in (None, ""):
        return ""
    return _money(str(amount), currency or "BRL", babel_locale())


# A table page formats the same few prices and days over and over (50 rows, 3 plans):
# babel and Django's date formatting cost 20-60 us a call, a cache hit well under 1.
@lru_cache(maxsize=4096)
def _money(amount: str, currency: str, locale: str) -> str:
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return ""
    return format_currency(value, currency, locale=locale)


@register.filter(expects_localtime=True)
def short_date(value: Any) -> str:
    """`{{ value|short_date }}` is `{{ value|date:"SHORT_DATE_FORMAT" }}` (a date-only
    format: a datetime shows its day in the current time zone), kept per day and
    language."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return ""
    return _short_date(value, get_language() or "")


@lru_cache(maxsize=4096)
def _short_date(day: date, language: str) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


@register.filter
def number(value: Any) -> str:
    if value in (None, ""):
        return ""
    return format_decimal(value, locale=babel_locale())


@register.filter
def percent(value: Any) -> str:
    """A ratio (0.25) as a percentage for the active language ("25%", "25 %")."""
    if value is None:
        return "—"
    return format_percent(value, format="#,##0.#%", locale=babel_locale())


@register.filter
def status_label(status: str) -> str:
    """`{{ s.status|status_label }}` is `{{ s.get_status_display }}`, kept per language
    (the model method rebuilds a dict of every choice at each call)."""
    return _status_label(status, get_language() or "")


@lru_cache(maxsize=256)
def _status_label(status: str, language: str) -> str:
    from subscriptions.models import Status

    try:
        return str(Status(status).label)
    except ValueError:
        return status


# The machine reasons the billing code writes on a status change, in words; any other
# reason is a person's (a cancellation's) and is shown as written.
_REASON_LABELS = {
    "renewal_declined": _("the renewal was declined"),
    "first_charge_unconfirmed": _("the first charge was never confirmed"),
    "unpaid": _("unpaid"),
    "paused": "",
    "resumed": "",
}


@register.filter
def iso_date(value: str) -> date | None:
    """A `YYYY-MM-DD` string from event data as a date (None when it is not one)."""
    try:
        return parse_date(value) if isinstance(value, str) else None
    except ValueError:
        return None


@register.filter
def event_reason(reason: str) -> str:
    """An event's `reason` for the timeline (empty when the status says it all)."""
    label = _REASON_LABELS.get(reason)
    return reason if label is None else str(label)


@register.filter
def status_class(status: str) -> str:
    """A CSS modifier per status family; the text always says the status too."""
    if status in ("ACTIVE",):
        return "ok"
    if status in ("DELAYED", "STARTED"):
        return "warn"
    if status.startswith("CANCELLED") or status in ("OVERDUE", "INACTIVE"):
        return "off"
    return "neutral"


@register.filter
def delivery_class(status: str) -> str:
    """Badge modifier for a delivery outcome (webhook or segmentation)."""
    if status == "succeeded":
        return "ok"
    if status in ("pending", "sending", "retrying"):
        return "warn"
    if status in ("failed", "gave_up"):
        return "off"
    return "neutral"


@register.filter
def value_choices(condition: Any, plans: Any) -> Any:
    """The options of a builder condition's value (plans, statuses…); [] for free text."""
    return condition.value_choices(plans)


@register.filter
def action_label(action_type: str) -> Any:
    from dashboard.rule_builder import ACTION_LABELS

    return ACTION_LABELS.get(action_type, action_type)


@register.filter
def request_class(status: str) -> str:
    return {"accepted": "ok", "pending": "warn", "rejected": "off", "failed": "off"}.get(
        status, "neutral"
    )


@register.filter
def event_label(event_type: str) -> str:
    """The event type's label from the vocabulary, in the active language."""
    return event_type_label(event_type)


@register.simple_tag
def query_with(query: str, **changes: Any) -> str:
    """The current filter query string with some parameters replaced (None drops one)."""
    params = QueryDict(query, mutable=True)
    for name, value in changes.items():
        params.pop(name, None)
        if value not in (None, ""):
            params[name] = value
    return params.urlencode()


@register.filter
def pretty_json(value: Any) -> str:
    """A webhook payload as the receiver got it, indented to be read (escaped by the
    template like any other string)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def coupon_terms(coupon: Any) -> str:
    """What a coupon takes off and for how long, in the active language
    ("20% off for 3 periods", "R$10.00 off once")."""
    from django.utils.translation import gettext, ngettext

    if coupon.kind == "percent":
        off = gettext("%(percent)s%% off") % {
            "percent": formats.number_format(coupon.percent_off.normalize(), use_l10n=True)
        }
    else:
        off = gettext("%(amount)s off") % {"amount": money(coupon.amount_off, coupon.currency)}
    if coupon.duration == "once":
        return gettext("%(off)s your next charge") % {"off": off}
    if coupon.duration == "forever":
        return gettext("%(off)s every charge") % {"off": off}
    n = coupon.duration_periods or 1
    return ngettext("%(off)s for %(n)s period", "%(off)s for %(n)s periods", n) % {
        "off": off,
        "n": n,
    }


def long_date(value: date | None) -> str:
    """A date in the active language's long format, "—" for none (for messages)."""
    return formats.date_format(value, "DATE_FORMAT") if value else "—"
