"""The memoised formatting filters answer exactly what the uncached ones do."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation


@pytest.mark.parametrize("language", ["en", "pt-br"])
@pytest.mark.parametrize("zone", ["UTC", "America/Sao_Paulo", "Asia/Tokyo"])
def test_short_date_is_the_date_filter_with_the_short_format(language, zone):
    template = Template(
        '{% load dashboard %}{{ v|short_date }}|{{ v|date:"SHORT_DATE_FORMAT" }}'
        '|{{ n|short_date|default:"—" }}|{{ n|date:"SHORT_DATE_FORMAT"|default:"—" }}'
    )
    values = [
        date(2026, 1, 31),
        datetime(2026, 3, 2, 1, 30, tzinfo=UTC),  # the day before in Sao Paulo
        datetime(2026, 12, 31, 20, 0, tzinfo=UTC),  # the day after in Tokyo
    ]
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        for value in values * 2:  # the second time from the cache
            ours, django, none_ours, none_django = template.render(
                Context({"v": value, "n": None})
            ).split("|")
            assert ours == django
            assert none_ours == none_django == "—"


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_money_is_the_same_from_the_cache(language):
    from babel.numbers import format_currency

    from dashboard.charts import babel_locale
    from dashboard.templatetags.dashboard import money

    with translation.override(language):
        for _ in range(2):
            assert money(Decimal("49.90"), "BRL") == format_currency(
                Decimal("49.90"), "BRL", locale=babel_locale()
            )
            assert money(None, "BRL") == money("", "BRL") == ""
            assert money("not a number", "BRL") == ""


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_status_label_is_the_models_display(language):
    from subscriptions.models import Status, Subscription

    template = Template(
        "{% load dashboard %}{{ s.status|status_label }}|{{ s.get_status_display }}"
    )
    with translation.override(language):
        for status in [*Status.values, *Status.values, "UNKNOWN"]:
            ours, django = template.render(Context({"s": Subscription(status=status)})).split("|")
            assert ours == django
