"""A consumer registered in the child processes of fault-injection tests.

It counts every delivery in Redis (`chaos:seen:<event id>`), sleeps CHAOS_CONSUMER_SLEEP_MS
to keep tasks in flight long enough to kill a worker under them, and kills its own worker
process for an event whose data holds {"chaos": "crash"} (a poison event).
"""

from __future__ import annotations

import os
import signal
import time
from functools import cache

import redis

from subscriptions.models import SubscriptionEvent


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["CHAOS_REDIS_URL"], socket_timeout=5)


def probe(event: SubscriptionEvent) -> None:
    _redis().incr(f"chaos:seen:{event.pk}")
    if event.data.get("chaos") == "crash":
        _redis().incr(f"chaos:crash:{event.pk}")
        os.kill(os.getpid(), signal.SIGKILL)
    delay_ms = int(os.environ.get("CHAOS_CONSUMER_SLEEP_MS", "0"))
    if delay_ms:
        time.sleep(delay_ms / 1000)
