"""What we keep of a saved card: its expiry (month and year, as the processor reports
it) and last four digits, never its number. A card is valid through the last day of its
expiry month; the card-expiring notice (recovery.card_notices) reads that date."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any


def card_data(card: dict[str, Any] | None) -> dict[str, Any]:
    """`{"exp_month", "exp_year", "last4"}` from a processor's card object, with only the
    keys it gave sensibly (a month 1 to 12, a four-digit year); {} when it gave none."""
    card = card or {}
    data: dict[str, Any] = {}
    month, year = card.get("exp_month"), card.get("exp_year")
    if isinstance(month, int) and isinstance(year, int) and 1 <= month <= 12 and year >= 2000:
        data.update(exp_month=month, exp_year=year)
    last4 = card.get("last4")
    if isinstance(last4, str) and len(last4) == 4 and last4.isdigit():
        data["last4"] = last4
    return data


def card_expires_on(data: dict[str, Any] | None) -> date | None:
    """The last day a card with this `card_data` can be charged, or None if unknown.

    *A card expiring 01/2027 is valid through January 31, 2027.*"""
    data = card_data(data)
    if "exp_month" not in data:
        return None
    year, month = data["exp_year"], data["exp_month"]
    return date(year, month, calendar.monthrange(year, month)[1])
