"""B5: 100,000 renewals due on one day, processed by the periodic job on the sandbox
gateway, against the least work that records the same outcome: one bulk insert of the
charge rows plus one bulk update of the subscriptions, in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bench.data import subscriptions_generate, tenant_create
from bench.harness import Result, Scenario, broker_purge, events_mark_processed, timer
from core import scheduling
from core.bulk import bulk_update_rows
from subscriptions import billing
from subscriptions.models import Charge, Status, Subscription
from subscriptions.services import charge_build


def _baseline(creator_id: int) -> int:
    """Load the due rows, bulk-insert one succeeded charge each, bulk-update the rows."""
    with transaction.atomic():
        rows = list(
            Subscription.objects.filter(creator_id=creator_id, status=Status.ACTIVE)
            .select_related("plan", "creator")
            .order_by("pk")
        )
        charges = []
        for subscription in rows:
            assert subscription.next_charge_date is not None
            charge = charge_build(
                subscription=subscription,
                kind=Charge.Kind.RENEWAL,
                period_start=subscription.next_charge_date,
            )
            charge.status = Charge.Status.SUCCEEDED
            charges.append(charge)
            plan = subscription.plan
            n = billing.period_index(
                subscription.billing_anchor, plan.period, subscription.next_charge_date
            )
            subscription.next_charge_date = billing.due_date(
                subscription.billing_anchor, plan.period, n + 1
            )
            subscription.paid_through = subscription.next_charge_date
            subscription.recurrence += 1
            subscription.updated_at = timezone.now()
        Charge.objects.bulk_create(charges, batch_size=1000)
        bulk_update_rows(rows, ["next_charge_date", "paid_through", "recurrence", "updated_at"])
    return len(rows)


def run(scale: float) -> Result:
    count = int(100_000 * scale)
    ours = tenant_create(0, prefix="renewals")
    today = billing.local_date(timezone.now(), ours.creator.time_zone)
    with timer() as setup:
        subscriptions_generate(ours, count, status="ACTIVE", next_charge_date=today)
    job = scheduling.jobs()["renewals"]
    with timer() as product:
        claimed = job.func()
    renewed = Charge.objects.filter(
        creator=ours.creator, status=Charge.Status.SUCCEEDED, kind=Charge.Kind.RENEWAL
    ).count()
    events_mark_processed()
    broker_purge()

    theirs = tenant_create(1, prefix="renewals")
    subscriptions_generate(theirs, count, status="ACTIVE", next_charge_date=today)
    with timer() as baseline:
        base_rows = _baseline(theirs.creator.pk)

    return Result(
        id="B5",
        title=f"{count:,} renewals due on one day (periodic job, sandbox gateway)",
        metric="seconds",
        value=round(product["seconds"], 3),
        baseline_value=round(baseline["seconds"], 3),
        target="≤ 3 × baseline",
        better="lower",
        target_ratio=3.0,
        details={
            "renewals": count,
            "claimed": claimed,
            "charges_succeeded": renewed,
            "renewals_per_second": round(count / product["seconds"], 1),
            "baseline_rows": base_rows,
            "baseline": "bulk_create of the charges + one UPDATE … FROM (VALUES) per 1,000 "
            "subscriptions, one transaction",
            "data_setup_seconds": round(setup["seconds"], 2),
        },
        extra_checks={"every_renewal_charged": renewed == count},
    )


SCENARIO = Scenario("B5", "Renewals by the periodic job", run)
