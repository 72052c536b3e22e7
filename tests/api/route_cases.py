"""The central registry of API route cases for the tenant-isolation matrix.

Every route under /api/v1/ (found by walking the URL resolver) must have a case, keyed by
the route's name, with a `Call` for every HTTP method it answers; a new endpoint without
one fails `test_every_api_route_has_a_case`.

Other apps extend the registry without touching this file: add
`tests/<app>/api_cases.py` defining `CASES: dict[str, RouteCase]`; it is imported
automatically. A case's `build(creator)` makes the objects the route needs, all owned by
`creator`, and returns a `Built` with the URL kwargs (empty for list routes) and any
references a request body needs.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Creator


@dataclass(frozen=True)
class Built:
    kwargs: dict[str, str] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    # The owner's expected status (2xx).
    ok: int = 200
    # The JSON body, built from the case's references (None: no body).
    body: Callable[[Built], dict[str, Any]] | None = None
    # For writes on list routes only (object routes always answer 404 to an outsider):
    # what an outsider gets when sending the same body, which may name the creator's objects.
    outsider: int = 400


def as_list(build: Callable[[Creator], Built]) -> Callable[[Creator], Built]:
    """The same objects for a list route: no URL kwargs, only the references."""

    def built(creator: Creator) -> Built:
        return Built(refs=build(creator).refs)

    return built


@dataclass(frozen=True)
class RouteCase:
    build: Callable[[Creator], Built]
    calls: dict[str, Call]
    # Settings the route needs for the duration of one case (applied through pytest-django's
    # `settings` fixture), e.g. PROVIDER_BASE_URLS pointing at a local fake provider.
    settings: Callable[[], dict[str, Any]] | None = None


API_PREFIX = "api/v1/"
IGNORED_METHODS = frozenset({"options", "head", "trace"})


@dataclass(frozen=True)
class ApiRoute:
    name: str
    pattern: str
    methods: frozenset[str]


def _methods_of(callback: Any) -> frozenset[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return frozenset(m for m in actions if m not in IGNORED_METHODS)
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return frozenset({"get"})
    return frozenset(
        m for m in cls.http_method_names if m not in IGNORED_METHODS and hasattr(cls, m)
    )


def api_routes() -> dict[str, ApiRoute]:
    """Every named route under /api/v1/, from the live URL resolver."""
    found: dict[str, ApiRoute] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            here = prefix + str(entry.pattern).lstrip("^")
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, here)
            elif isinstance(entry, URLPattern) and here.startswith(API_PREFIX):
                if not entry.name:
                    raise AssertionError(f"API route {here!r} has no name; name it.")
                found[entry.name] = ApiRoute(entry.name, here, _methods_of(entry.callback))

    walk(get_resolver().url_patterns, "")
    return found


def all_cases() -> dict[str, RouteCase]:
    from tests.api.cases import CASES

    merged = dict(CASES)
    import tests

    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg:
            continue
        try:
            extra = importlib.import_module(f"tests.{module.name}.api_cases")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{module.name}.api_cases":
                raise
            continue
        for name, case in extra.CASES.items():
            if name in merged:
                raise AssertionError(f"Route case {name!r} is registered twice.")
            merged[name] = case
    return merged
