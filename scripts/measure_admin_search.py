"""Time the support admin's partial search on a million subscriptions (issue: "carla.rocha"
must answer in under 300 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/admin_search_1m \\
        .venv/bin/python scripts/measure_admin_search.py

Use a scratch PostgreSQL database: the script migrates it and, unless it already holds
them, adds 1,000,000 subscribers with one subscription each over 20 creators (about two
minutes), with realistic emails and names (`carla.rocha123@gmail.com`, 40 by 40 first and
last names, so "carla.rocha" matches one subscriber in 1,600). It then requests the
admin changelists as a superuser through Django's test client, as a browser would
(page, count and all), and prints one JSON line per search: matches, median and
slowest of 10 timed requests after a warm-up, and the plan PostgreSQL chose.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 1_000_000
CREATORS = 20
FIRST = [
    "ana",
    "carla",
    "maria",
    "joao",
    "pedro",
    "lucas",
    "julia",
    "mariana",
    "gabriel",
    "rafael",
    "beatriz",
    "camila",
    "bruno",
    "felipe",
    "larissa",
    "fernanda",
    "gustavo",
    "leticia",
    "thiago",
    "amanda",
    "diego",
    "patricia",
    "rodrigo",
    "juliana",
    "marcelo",
    "vanessa",
    "eduardo",
    "aline",
    "ricardo",
    "bianca",
    "andre",
    "natalia",
    "paulo",
    "renata",
    "daniel",
    "priscila",
    "carlos",
    "tatiana",
    "luiz",
    "helena",
]
LAST = [
    "silva",
    "santos",
    "oliveira",
    "souza",
    "rodrigues",
    "ferreira",
    "alves",
    "pereira",
    "lima",
    "gomes",
    "costa",
    "ribeiro",
    "martins",
    "carvalho",
    "almeida",
    "lopes",
    "soares",
    "fernandes",
    "vieira",
    "barbosa",
    "rocha",
    "dias",
    "nascimento",
    "andrade",
    "moreira",
    "nunes",
    "marques",
    "machado",
    "mendes",
    "freitas",
    "cardoso",
    "ramos",
    "goncalves",
    "santana",
    "teixeira",
    "araujo",
    "pinto",
    "correia",
    "moura",
    "campos",
]
DOMAINS = ("gmail.com", "hotmail.com", "yahoo.com.br", "outlook.com", "uol.com.br")
SEARCHES = [
    ("subscription", "carla.rocha"),
    ("subscription", "Carla Rocha"),
    ("subscription", "rocha"),
    ("subscription", "carla.rocha1207@hotmail.com"),
    ("subscriber", "carla.rocha"),
    ("charge", "carla.rocha"),
]


def generate() -> None:
    from django.db import connection

    from bench.data import analyze, subscriptions_generate, tenant_create
    from subscriptions.models import Subscriber

    if Subscriber.objects.count() >= TOTAL:
        return
    started = time.monotonic()
    for index in range(CREATORS):
        subscriptions_generate(tenant_create(index, prefix="search"), TOTAL // CREATORS)
    firsts = "ARRAY[" + ",".join(f"'{f}'" for f in FIRST) + "]"
    lasts = "ARRAY[" + ",".join(f"'{x}'" for x in LAST) + "]"
    domains = "ARRAY[" + ",".join(f"'{d}'" for d in DOMAINS) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE subscriptions_subscriber SET
              email = ({firsts})[1 + id % {len(FIRST)}] || '.'
                      || ({lasts})[1 + (id / {len(FIRST)}) % {len(LAST)}] || id || '@'
                      || ({domains})[1 + id % {len(DOMAINS)}],
              name = initcap(({firsts})[1 + id % {len(FIRST)}]) || ' '
                     || initcap(({lasts})[1 + (id / {len(FIRST)}) % {len(LAST)}])
            """
        )
    analyze()
    print(f"generated {TOTAL:,} subscriptions in {time.monotonic() - started:.0f} s", flush=True)


def measure(client, model: str, term: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/admin/subscriptions/{model}/"
    client.get(url, {"q": term})  # warm-up: plan cache, shared buffers
    timings = []
    for _ in range(10):
        started = time.perf_counter()
        response = client.get(url, {"q": term})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": term})
    page = max(queries.captured_queries, key=lambda q: len(q["sql"]))["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + page)
        plan = [row[0] for row in cursor.fetchall()]
    matches = response.context["cl"].result_count
    return {
        "changelist": model,
        "q": term,
        "matches": matches,
        "median_ms": round(statistics.median(timings), 1),
        "max_ms": round(max(timings), 1),
        "trigram_index_used": any("_trgm" in line for line in plan),
    }


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a scratch PostgreSQL database")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User

    call_command("migrate", "--noinput", verbosity=0)
    generate()
    setup_test_environment()  # response.context for the result count
    admin, _ = User.objects.get_or_create(
        email="support@search.example", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    for model, term in SEARCHES:
        print(json.dumps(measure(client, model, term)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
