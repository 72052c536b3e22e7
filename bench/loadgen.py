"""A small closed-loop HTTP load generator, used by B3 when `wrk` is not installed:
`python -m bench.loadgen PORT SECONDS CONNECTIONS PATHS_FILE [HEADER…]` prints the same
`BENCH {json}` line as bench/wrk.lua. Runs in its own process, like wrk."""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time


def main() -> None:
    port, seconds, connections = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    with open(sys.argv[4]) as lines:
        paths = [p for p in lines.read().splitlines() if p]
    headers = dict(h.split(": ", 1) for h in sys.argv[5:])
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = offset
        while time.perf_counter() < deadline:
            path = paths[n % len(paths)]
            n += connections
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            with lock:
                latencies.append(time.perf_counter() - start)
                errors[0] += 0 if ok else 1

    began = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    print(
        "BENCH "
        + json.dumps(
            {
                "requests": len(latencies),
                "seconds": round(elapsed, 3),
                "errors": errors[0],
                "p50_ms": round(pct(50), 2),
                "p95_ms": round(pct(95), 2),
                "p99_ms": round(pct(99), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
