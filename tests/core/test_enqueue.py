"""`enqueue_chunks`: items travel in chunks; a broker that fails is logged and the rest
left to the periodic job, never raised to the caller (whose change is committed)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from kombu.exceptions import OperationalError

from core.enqueue import enqueue_chunks


class Broker:
    """The task's `apply_async` at the broker boundary: records each message, and fails
    from message number `fail_from` on, as a broker that went away."""

    def __init__(self, fail_from: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_from = fail_from

    def task(self, name: str) -> Any:
        broker = self

        class Task:
            def apply_async(self, **options: Any) -> None:
                if broker.fail_from is not None and len(broker.sent) >= broker.fail_from:
                    raise OperationalError("Error 111 connecting to 127.0.0.1:6379.")
                broker.sent.append({"task": name, **options})

        return Task()


def test_items_travel_in_chunks_and_a_single_one_by_itself():
    broker = Broker()
    handed = enqueue_chunks(
        [1, 2, 3, 4, 5],
        size=2,
        many=broker.task("many"),
        one=broker.task("one"),
        queue="deliveries",
        what="deliveries",
    )
    assert handed == 5
    assert broker.sent == [
        {"task": "many", "args": ([1, 2],), "retry": False, "queue": "deliveries"},
        {"task": "many", "args": ([3, 4],), "retry": False, "queue": "deliveries"},
        {"task": "one", "args": (5,), "retry": False, "queue": "deliveries"},
    ]


def test_one_args_spreads_an_item_into_the_task_arguments():
    broker = Broker()
    enqueue_chunks(
        [(7, 0)], size=8, many=broker.task("many"), one=broker.task("one"), one_args=tuple, what="x"
    )
    assert broker.sent == [{"task": "one", "args": (7, 0), "retry": False}]


def test_a_broker_error_is_logged_and_the_rest_left_for_the_job(caplog):
    broker = Broker(fail_from=1)
    with caplog.at_level(logging.WARNING, logger="core.enqueue"):
        handed = enqueue_chunks(
            list(range(10)), size=4, many=broker.task("many"), what="reactivation emails"
        )
    assert handed == 4
    assert [m["args"] for m in broker.sent] == [([0, 1, 2, 3],)]
    assert "6 reactivation emails not queued now" in caplog.text


@pytest.mark.parametrize("items", [[], [1]])
def test_without_one_every_chunk_goes_to_many(items):
    broker = Broker()
    enqueue_chunks(items, size=3, many=broker.task("many"), what="x")
    assert [m["task"] for m in broker.sent] == ["many"] * len(items)
