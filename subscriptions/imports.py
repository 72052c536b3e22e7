"""Importing existing subscribers from a CSV file (creators moving from another platform).

The file has a header row with the columns `email`, `name`, `plan`, `started_at` and
`payment_method` (also accepted: `payment_method_token`), and optionally `locale`
(`pt-BR` / `en`) and `customer` (the gateway's customer id, which Stripe needs). `plan`
is the plan's id or its name when no other plan of the creator has that name.
`started_at` is a past date (`2025-03-10`, the creator's time zone) or an ISO timestamp.

`import_parse` reads and checks every row without writing anything (the preview): each
problem is reported with its line number, column and a message. `subscriptions_import`
creates the good rows through `subscription_create` with their past `started_at` — the
import path of SPEC §4.3: nothing is charged, the next charge is the first anchor +
n periods on or after today. A row whose subscriber (email), plan and start already
exist is skipped, so uploading the same file twice imports it once.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Creator
from core.errors import DomainError
from subscriptions.gateways.base import GatewayError
from subscriptions.gateways.registry import get_gateway
from subscriptions.models import Plan, Subscription
from subscriptions.services import IMPORT_TOLERANCE, SubscriberData, subscription_create

IMPORT_MAX_BYTES = 1_000_000
IMPORT_MAX_ROWS = 2_000
REQUIRED = ("email", "plan", "started_at", "payment_method")
ALIASES = {"payment_method_token": "payment_method"}
LOCALES = {"pt-br": "pt-BR", "pt_br": "pt-BR", "pt": "pt-BR", "en": "en"}


class ImportFileError(Exception):
    """The file as a whole cannot be read (size, encoding, header)."""


@dataclass(frozen=True)
class ImportRow:
    line: int
    email: str
    name: str
    locale: str
    plan: Plan
    started_at: datetime
    payment_method: str
    customer: str


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportPlan:
    rows: list[ImportRow] = field(default_factory=list)  # to be created
    already: list[int] = field(default_factory=list)  # lines already imported
    errors: list[RowError] = field(default_factory=list)
    total: int = 0


def import_decode(raw: bytes) -> str:
    if len(raw) > IMPORT_MAX_BYTES:
        raise ImportFileError(
            _("The file is larger than %(limit)s kB; split it into smaller files.")
            % {"limit": IMPORT_MAX_BYTES // 1000}
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save CSV in their ANSI code page.
        return raw.decode("cp1252", errors="replace")


def _reader(content: str) -> csv.DictReader[str]:
    first = content.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return csv.DictReader(io.StringIO(content), delimiter=delimiter)


def _started_at(value: str, creator: Creator) -> datetime | None:
    moment = parse_datetime(value)
    if moment is not None:
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment, creator.tz)
    day = parse_date(value)
    if day is None:
        return None
    # Noon: the local date stays the same whatever the offset.
    return timezone.make_aware(datetime.combine(day, time(12)), creator.tz)


def import_parse(*, creator: Creator, content: str) -> ImportPlan:
    """Check every row; write nothing. Three queries whatever the number of rows."""
    reader = _reader(content)
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFileError(
            _("The first line must name the columns; missing: %(columns)s.")
            % {"columns": ", ".join(missing)}
        )
    reader.fieldnames = header
    plans = list(Plan.objects.filter(creator=creator).select_related("product"))
    by_uuid = {str(p.uuid): p for p in plans}
    by_name: dict[str, list[Plan]] = {}
    for p in plans:
        by_name.setdefault(p.name.strip().lower(), []).append(p)
    gateway = get_gateway(creator)
    now = timezone.now()
    result = ImportPlan()
    candidates: list[ImportRow] = []
    for number, record in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if not any(values.values()):
            continue
        result.total += 1
        if result.total > IMPORT_MAX_ROWS:
            raise ImportFileError(
                _("The file has more than %(limit)s rows; split it into smaller files.")
                % {"limit": IMPORT_MAX_ROWS}
            )
        errors: list[RowError] = []
        email = values.get("email", "")
        try:
            validate_email(email)
        except ValidationError:
            errors.append(RowError(number, "email", _("Not a valid email address.")))
        name = values.get("name", "")
        if len(name) > 200:
            errors.append(RowError(number, "name", _("Longer than 200 characters.")))
        locale = values.get("locale", "")
        if locale and locale.lower() not in LOCALES:
            errors.append(RowError(number, "locale", _("Use pt-BR or en.")))
        plan_value = values.get("plan", "")
        plan = by_uuid.get(plan_value.lower())
        if plan is None:
            named = by_name.get(plan_value.lower(), [])
            if len(named) == 1:
                plan = named[0]
            elif len(named) > 1:
                errors.append(
                    RowError(number, "plan", _("Several plans have this name; use the plan's id."))
                )
            else:
                errors.append(RowError(number, "plan", _("No plan with this id or name.")))
        if plan is not None and not plan.is_active:
            errors.append(RowError(number, "plan", _("This plan is not on sale any more.")))
        started_at = _started_at(values.get("started_at", ""), creator)
        if started_at is None:
            errors.append(
                RowError(number, "started_at", _("Not a date: use YYYY-MM-DD, e.g. 2025-03-10."))
            )
        elif started_at >= now - IMPORT_TOLERANCE:
            errors.append(
                RowError(
                    number,
                    "started_at",
                    _(
                        "Must be in the past: an import never charges; new sales go "
                        "through checkout or the API."
                    ),
                )
            )
        payment_method = values.get("payment_method", "")
        customer = values.get("customer", "")
        try:
            gateway.validate_payment_method(payment_method=payment_method, customer=customer)
        except GatewayError as exc:
            errors.append(
                RowError(
                    number,
                    "payment_method",
                    _("Your payment gateway cannot charge it: %(reason)s") % {"reason": exc},
                )
            )
        if errors:
            result.errors.extend(errors)
            continue
        assert plan is not None and started_at is not None
        candidates.append(
            ImportRow(
                line=number,
                email=email,
                name=name,
                locale=LOCALES.get(locale.lower(), ""),
                plan=plan,
                started_at=started_at,
                payment_method=payment_method,
                customer=customer,
            )
        )
    existing = set(
        Subscription.objects.filter(
            creator=creator,
            subscriber__email__in={row.email for row in candidates},
            plan__in={row.plan.pk for row in candidates},
        ).values_list("subscriber__email", "plan_id", "started_at")
    )
    existing_keys = {(email.lower(), plan, started) for email, plan, started in existing}
    seen: set[tuple[Any, ...]] = set()
    for row in candidates:
        key = (row.email.lower(), row.plan.pk, row.started_at)
        if key in existing_keys:
            result.already.append(row.line)
        elif key in seen:
            result.errors.append(
                RowError(row.line, "email", _("The same subscription appears on an earlier line."))
            )
        else:
            seen.add(key)
            result.rows.append(row)
    result.errors.sort(key=lambda e: e.line)
    return result


@dataclass(frozen=True)
class ImportResult:
    created: int
    already: int
    errors: list[RowError]


def subscriptions_import(*, creator: Creator, content: str) -> ImportResult:
    """Check the file again (it came back from the browser) and create its good rows,
    each in its own transaction with its `subscription.created` event. Rows with errors
    are left out and reported; nothing is charged."""
    plan = import_parse(creator=creator, content=content)
    created = 0
    errors = list(plan.errors)
    for row in plan.rows:
        try:
            subscription_create(
                creator=creator,
                plan=row.plan,
                subscriber=SubscriberData(
                    email=row.email,
                    name=row.name,
                    locale=row.locale,
                    gateway_customer_id=row.customer,
                ),
                payment_method=row.payment_method,
                started_at=row.started_at,
            )
        except DomainError as exc:
            errors.append(RowError(row.line, "", exc.message))
        else:
            created += 1
    errors.sort(key=lambda e: e.line)
    return ImportResult(created=created, already=len(plan.already), errors=errors)
