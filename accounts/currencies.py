"""The currencies a price may be in: ISO 4217 codes that are legal tender somewhere today.

    >>> is_active_currency("BRL"), is_active_currency("ZZZ"), is_active_currency("DEM")
    (True, False, False)

From CLDR's territory-currency data (babel, already a dependency): withdrawn codes
(DEM), funds and metals (XAU) and unassigned letters (ZZZ) are not money a subscriber
can be charged in. One list for the API's plans and the dashboard's settings form.
"""

from __future__ import annotations

import functools
from datetime import date

from babel.core import get_global
from babel.numbers import get_territory_currencies


@functools.cache
def _active_on(day: date) -> frozenset[str]:
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, start_date=day, end_date=day, tender=True))
    return frozenset(codes)


def active_currencies() -> frozenset[str]:
    """Every active ISO 4217 code (upper case)."""
    return _active_on(date.today())


def is_active_currency(code: str) -> bool:
    return code.upper() in active_currencies()
