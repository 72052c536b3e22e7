"""The language the dashboard formats numbers, money and dates in (Babel's locale name).

The charts themselves are drawn by dashboard/svg.py."""

from __future__ import annotations

from django.utils.translation import get_language, to_locale


def babel_locale() -> str:
    return to_locale(get_language() or "en")
