"""One deadline for every provider call made while answering one web request.

A page that shows a provider's lists (the rule builder, its htmx rows, the API's
`/integrations/{id}/lists`) may make many calls: a paged answer is up to MAX_PAGES
requests of PROVIDER_TIMEOUT_SECONDS each. Inside `lookup_deadline(seconds)` every call
gets at most what is left of the request's budget, and none starts once it is spent, so
a slow provider cannot hold a web worker for minutes. Background deliveries (Celery)
run without it: their calls keep the per-call timeout.

    with lookup_deadline(8):
        provider_for(integration).lists()  # all pages within 8 s in total
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("provider_lookup_deadline", default=None)


@contextmanager
def lookup_deadline(seconds: float) -> Iterator[None]:
    """Bound every provider call inside to `seconds` in total; an outer deadline that
    is already running is kept (one deadline per request)."""
    if _deadline.get() is not None:
        yield
        return
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """What is left of the current deadline (≤ 0 when spent), or None without one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
