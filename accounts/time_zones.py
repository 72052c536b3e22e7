"""The time zones a creator can pick: IANA's current zones, one per place, grouped by
region, with the creator's likely ones first.

    >>> "America/Sao_Paulo" in current_time_zones(), "localtime" in current_time_zones()
    (True, False)

From the tz database's `zone.tab` (the `tzdata` package): one line per zone still in use,
with its country. Not offered: `localtime`, `Factory`, `posixrules`, the `Etc/…` offsets
and the legacy aliases (`US/Eastern`, `Brazil/East`, `GB`) that `zoneinfo` also knows.
A creator whose saved zone is one of those keeps it (it is offered first).
"""

from __future__ import annotations

import functools
from importlib import resources

from babel import Locale, UnknownLocaleError
from django.utils.translation import gettext_lazy

REGIONS = {
    "Africa": gettext_lazy("Africa"),
    "America": gettext_lazy("Americas"),
    "Antarctica": gettext_lazy("Antarctica"),
    "Arctic": gettext_lazy("Arctic"),
    "Asia": gettext_lazy("Asia"),
    "Atlantic": gettext_lazy("Atlantic"),
    "Australia": gettext_lazy("Australia"),
    "Europe": gettext_lazy("Europe"),
    "Indian": gettext_lazy("Indian Ocean"),
    "Pacific": gettext_lazy("Pacific"),
    "UTC": gettext_lazy("Coordinated Universal Time"),
}

# Places whose people the dashboard's languages suggest, after the creator's own country.
LIKELY_COUNTRIES = {"pt-BR": ("BR", "PT"), "en": ("US", "GB", "CA", "AU")}


@functools.cache
def _zone_tab() -> dict[str, str]:
    """zone → ISO 3166 country code, from tzdata's zone.tab."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, zone, *_comment = line.split("\t")
        zones[zone] = country
    return zones


def current_time_zones() -> frozenset[str]:
    return frozenset([*_zone_tab(), "UTC"])


def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale("en")


def time_zone_label(zone: str, language: str) -> str:
    """`America/Sao_Paulo` → "Sao Paulo (Brazil)" ("(Brasil)" in Portuguese)."""
    country = _zone_tab().get(zone)
    if not country:
        return zone.replace("_", " ")  # UTC, or a legacy name a creator saved long ago
    place = zone.split("/", 1)[-1].replace("_", " ").replace("/", " / ")
    name = _babel_locale(language).territories.get(country, country)
    return f"{place} ({name})"


def time_zone_choices(
    *, current: str, locale: str, language: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices: "Suggested" (the saved zone, its country's zones, then those of
    the countries the creator's language suggests), then each region in alphabetical
    order, its places too."""
    zones = _zone_tab()
    current_country = zones.get(current)
    countries = [c for c in (current_country, *LIKELY_COUNTRIES.get(locale, ())) if c]
    suggested = [current] if current else []
    for country in dict.fromkeys(countries):
        suggested += sorted(z for z, c in zones.items() if c == country and z not in suggested)
    groups: dict[str, list[str]] = {}
    for zone in sorted(zones):
        groups.setdefault(zone.split("/", 1)[0], []).append(zone)
    groups.setdefault("UTC", []).append("UTC")

    def options(names: list[str]) -> list[tuple[str, str]]:
        return sorted(
            ((z, time_zone_label(z, language)) for z in names), key=lambda o: o[1].casefold()
        )

    return [
        (str(gettext_lazy("Suggested")), [(z, time_zone_label(z, language)) for z in suggested]),
        *(
            (str(REGIONS.get(region, region)), options(names))
            for region, names in sorted(groups.items())
        ),
    ]
