"""Handing work to Celery after commit, in chunks, without ever failing the caller.

Every producer here has a periodic job (or the outbox sweeper) that finds the rows
still waiting, so a broker outage is logged and left to that job: raising would turn a
committed change into an error for the person who made it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def enqueue_chunks(
    items: Sequence[T],
    *,
    size: int,
    many: Any,
    one: Any = None,
    one_args: Callable[[T], tuple[Any, ...]] = lambda item: (item,),
    queue: str | None = None,
    what: str,
) -> int:
    """Send `items` `size` to a message: `many.apply_async(args=(chunk,))`, or
    `one.apply_async(args=one_args(item))` for a chunk of one when `one` is given.
    Returns how many items were handed over; at the first broker error the rest are
    left (logged as `what`) for the job that picks up waiting rows."""
    options: dict[str, Any] = {"retry": False}
    if queue is not None:
        options["queue"] = queue
    for start in range(0, len(items), size):
        chunk = list(items[start : start + size])
        try:
            if one is not None and len(chunk) == 1:
                one.apply_async(args=one_args(chunk[0]), **options)
            else:
                many.apply_async(args=(chunk,), **options)
        except Exception as exc:  # broker down: the periodic job picks them up
            logger.warning(
                "%s %s not queued now (%s: %s); the periodic job will pick them up",
                len(items) - start,
                what,
                type(exc).__name__,
                exc,
            )
            return start
    return len(items)
