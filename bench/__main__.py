"""Run the benchmarks: `python -m bench [--quick] [--only B1,B5]`.

Uses its own PostgreSQL database (BENCH_DATABASE_URL, recreated each run) and Redis
database (BENCH_REDIS_URL), so it never touches development or test data.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from bench.harness import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, ROOT, table, write_results


def _prepare_environment() -> None:
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1rZXktbm90LWZvci1wcm9kLXVzZSE=")
    os.environ["EMAIL_BACKEND"] = "notifications.outbox.OutboxEmailBackend"
    os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
    os.environ["LOG_LEVEL"] = "WARNING"


def _recreate_database() -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = cfg["NAME"]
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=int(cfg["PORT"] or 5432),
        user=cfg["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="every size at a tenth")
    parser.add_argument("--only", default="", help="comma-separated scenario ids, e.g. B1,B5")
    parser.add_argument("--output", default="", help="results file (default bench/results/…)")
    args = parser.parse_args()

    # Stopped from outside: unwind, so every scenario's `finally` stops its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _prepare_environment()
    _recreate_database()

    import django

    django.setup()
    from bench.scenarios import SCENARIOS

    wanted = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    scale = 0.1 if args.quick else 1.0
    results = []
    started = time.perf_counter()
    for scenario in SCENARIOS:
        if wanted and scenario.id not in wanted:
            continue
        print(f"[bench] {scenario.id} {scenario.title} (scale {scale}) …", flush=True)
        t0 = time.perf_counter()
        result = scenario.run(scale)
        print(f"[bench] {scenario.id} done in {time.perf_counter() - t0:.1f}s", flush=True)
        results.append(result)
    path = write_results(results, quick=args.quick, path=args.output or None)
    print()
    print(table(results))
    print(f"\nwritten to {path} in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
