"""Several processes publishing to one Celery broker while another consumes.

    .venv/bin/python scripts/broker_race.py --broker embedded
    .venv/bin/python scripts/broker_race.py --broker filesystem

`embedded` is what `make run` uses (kombu's SQLAlchemy transport on a SQLite file);
`filesystem` is kombu's filesystem transport it replaced. Each of `--producers`
processes publishes `--messages` messages of about 2 KB; the consumer reads until it
has them all. Prints a JSON line: messages received, duplicates, errors (the first few,
with their type). The filesystem transport lets the consumer read a file its producer is
still writing (kombu issue #1551), which ends in a JSONDecodeError; the embedded broker
must deliver every message once.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from kombu import Connection

PAYLOAD = "x" * 2_000


def broker(kind: str, folder: Path) -> tuple[str, dict[str, Any]]:
    if kind == "embedded":
        with sqlite3.connect(folder / "broker.sqlite3") as db:
            db.execute("PRAGMA journal_mode=WAL")  # as run_dev prepares it
        return f"sqla+sqlite:///{folder / 'broker.sqlite3'}", {"connect_args": {"timeout": 30}}
    queue = folder / "queue"
    queue.mkdir(exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(folder),
        "store_processed": False,
        "polling_interval": 0.01,
    }


def produce(url: str, options: dict[str, Any], producer: int, count: int) -> None:
    with Connection(url, transport_options=options) as connection:
        queue = connection.SimpleQueue("race")
        for n in range(count):
            queue.put({"id": f"{producer}-{n}", "body": PAYLOAD})
            # Paced like a web process publishing now and then, so the consumer is often
            # caught up and picks up the newest message the moment it appears.
            time.sleep(random.uniform(0, 0.004))
        queue.close()


def burn() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", choices=["embedded", "filesystem"], default="embedded")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=250)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--cpu-burners", type=int, default=0, help="busy processes beside")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url, transport_options = broker(options.broker, Path(folder))
        with Connection(url, transport_options=transport_options) as connection:
            queue = connection.SimpleQueue("race")  # declares it before anyone publishes
            producers = [
                multiprocessing.Process(
                    target=produce, args=(url, transport_options, p, options.messages)
                )
                for p in range(options.producers)
            ]
            burners = [multiprocessing.Process(target=burn) for _ in range(options.cpu_burners)]
            for process in [*burners, *producers]:
                process.start()
            expected = options.producers * options.messages
            seen: set[str] = set()
            duplicates = 0
            errors: list[str] = []
            deadline = time.monotonic() + options.timeout
            while len(seen) < expected and time.monotonic() < deadline:
                try:
                    message = queue.get(timeout=1)
                except Empty:
                    continue
                except Exception as exc:  # what the worker would die of
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                message.ack()
                key = message.payload["id"]
                duplicates += key in seen
                seen.add(key)
            for process in producers:
                process.join(timeout=30)
            for process in burners:
                process.kill()
            queue.close()
    result = {
        "broker": options.broker,
        "expected": expected,
        "received": len(seen),
        "duplicates": duplicates,
        "errors": len(errors),
        "first_errors": errors[:3],
    }
    print(json.dumps(result))
    return 0 if (len(seen) == expected and not errors and not duplicates) else 1


if __name__ == "__main__":
    sys.exit(main())
