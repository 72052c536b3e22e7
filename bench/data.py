"""Fast data generation for the benchmarks: catalogue rows through the ORM (a handful),
subscribers and subscriptions with `INSERT … SELECT generate_series` (one statement per
creator, no Python loop per row), so a million rows take about a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from accounts.models import ApiKey, Creator, Membership, User
from accounts.services import api_key_create
from subscriptions.models import Plan, Product

PERIODS = ("monthly", "yearly", "weekly")
PRICES = (Decimal("49.90"), Decimal("479.00"), Decimal("14.90"))
# The status mix of the large data set (per 100 rows); the cancellation reasons repeat.
STATUS_MIX = [
    ("ACTIVE", 60),
    ("DELAYED", 10),
    ("CANCELLED_BY_CUSTOMER", 20),
    ("INACTIVE", 5),
    ("OVERDUE", 5),
]
REASONS = ("Too expensive", "Not using it enough", "Found another course", "")


@dataclass
class Tenant:
    creator: Creator
    owner: User
    api_key: str
    product: Product
    plans: list[Plan]


def tenant_create(index: int, *, prefix: str = "bench") -> Tenant:
    """A creator with an owner, an owner API key, one product and three plans."""
    creator = Creator.objects.create(
        name=f"{prefix.title()} creator {index}",
        slug=f"{prefix}-{index}",
        time_zone="America/Sao_Paulo",
        locale="en",
        currency="BRL",
    )
    owner, _ = User.objects.get_or_create(email=f"owner{index}@{prefix}.example")
    Membership.objects.create(creator=creator, user=owner, role="owner")
    issued = api_key_create(creator=creator, name="bench", role="owner", created_by=owner)
    product = Product.objects.create(creator=creator, name=f"Course {index}")
    plans = [
        Plan.objects.create(
            creator=creator,
            product=product,
            name=period.title(),
            price=price,
            currency="BRL",
            period=period,
        )
        for period, price in zip(PERIODS, PRICES, strict=True)
    ]
    return Tenant(creator, owner, issued.raw_key, product, plans)


def _status_case(n: str) -> str:
    """SQL CASE giving the status of row number `n` from STATUS_MIX."""
    parts, upper = [], 0
    for status, share in STATUS_MIX:
        upper += share
        parts.append(f"WHEN ({n} % 100) < {upper} THEN '{status}'")
    return "CASE " + " ".join(parts) + " END"


def subscriptions_generate(
    tenant: Tenant,
    count: int,
    *,
    status: str | None = None,
    next_charge_date: date | None = None,
    payment_method: str = "pm_sandbox_ok",
) -> None:
    """`count` subscribers, each with one subscription, in two INSERT … SELECT statements.

    Without `status`, rows follow STATUS_MIX; billable rows fall due in the future (days
    1–28 from today), so they never mix with a scenario's own due rows. With
    `next_charge_date`, every row falls due on that day."""
    creator = tenant.creator
    today = timezone.localdate()
    plan_ids = ",".join(str(p.pk) for p in tenant.plans)
    status_sql = f"'{status}'" if status else _status_case("s.n")
    reasons = ",".join(f"'{r}'" for r in REASONS)
    due_sql = (
        f"DATE '{next_charge_date.isoformat()}'"
        if next_charge_date
        else f"DATE '{(today + timedelta(days=1)).isoformat()}' + (s.n % 28)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO subscriptions_subscriber
                (creator_id, uuid, email, name, locale, gateway_customer_id, created_at)
            SELECT %s, gen_random_uuid(), 'user' || n || '@c' || %s || '.example',
                   'User ' || n, CASE WHEN n %% 4 = 0 THEN 'pt-BR' ELSE 'en' END, '', now()
            FROM generate_series(1, %s) AS n
            """,
            [creator.pk, creator.pk, count],
        )
        cursor.execute(
            f"""
            INSERT INTO subscriptions_subscription
                (creator_id, uuid, subscriber_id, plan_id, status, payment_method, started_at,
                 billing_anchor, next_charge_date, paid_through, recurrence,
                 unpaid_recurrences, retry_attempt, next_retry_date, cancelled_at,
                 cancellation_source, cancellation_reason, created_at, updated_at)
            SELECT %(creator)s, gen_random_uuid(), s.id,
                   (ARRAY[{plan_ids}])[1 + s.n % 3], x.status, %(pm)s,
                   a.anchor + time '12:00', a.anchor,
                   CASE WHEN x.status IN ('ACTIVE', 'DELAYED') THEN x.due END,
                   CASE WHEN x.status IN ('ACTIVE', 'DELAYED') THEN x.due END,
                   s.n % 24, 0, 0, NULL,
                   CASE WHEN x.status LIKE 'CANCELLED%%' THEN now() END,
                   CASE WHEN x.status LIKE 'CANCELLED%%' THEN 'customer' ELSE '' END,
                   CASE WHEN x.status LIKE 'CANCELLED%%'
                        THEN (ARRAY[{reasons}])[1 + s.n % 4] ELSE '' END,
                   a.anchor + time '12:00' + s.n * interval '1 millisecond',
                   now()
            FROM (SELECT id, (row_number() OVER (ORDER BY id))::int AS n
                  FROM subscriptions_subscriber
                  WHERE creator_id = %(creator)s
                    AND NOT EXISTS (SELECT 1 FROM subscriptions_subscription t
                                    WHERE t.subscriber_id = subscriptions_subscriber.id)) s
            CROSS JOIN LATERAL (SELECT {status_sql} AS status, {due_sql} AS due) x
            -- The anchor is whole periods before the due date (monthly and yearly plans:
            -- whole years; weekly: whole weeks), so the due date is one of its due dates.
            CROSS JOIN LATERAL (
                SELECT CASE WHEN s.n % 3 = 2 THEN x.due - (7 * (1 + s.n % 50))::int
                            ELSE (x.due - (1 + s.n % 2) * interval '1 year')::date
                       END AS anchor
            ) a
            """.replace(" % ", " %% "),
            {"creator": creator.pk, "pm": payment_method},
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE subscriptions_subscriber, subscriptions_subscription")


# The large shared data set of B3 and B4: 20 creators, the largest with a fifth of the rows.
_LARGE: dict[float, list[Tenant]] = {}


def large_dataset(scale: float) -> list[Tenant]:
    """1,000,000 subscriptions × scale over 20 creators; the first has 20 % of them.
    Built once per run and shared by the scenarios that read it."""
    if scale in _LARGE:
        return _LARGE[scale]
    total = int(1_000_000 * scale)
    largest = total // 5
    rest = (total - largest) // 19
    tenants = []
    for index in range(20):
        tenant = tenant_create(index, prefix="large")
        subscriptions_generate(tenant, largest if index == 0 else rest)
        tenants.append(tenant)
    analyze()
    _LARGE[scale] = tenants
    return tenants


def api_key_of(tenant: Tenant) -> ApiKey:
    return ApiKey.objects.get(creator=tenant.creator, name="bench")
