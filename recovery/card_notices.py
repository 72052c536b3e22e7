"""Card-expiring notices (SPEC §4.6 lifecycle notices): the month before the saved card
expires, the subscriber gets an email with a link to replace it, so the next renewal is
not declined for an expired card (the commonest avoidable decline).

The rule, on the creator's local date: a subscription ACTIVE or "payment late", with a
renewal ahead (`next_charge_date`), whose card expiry is known (`card_expires_on`, the
last day of the card's expiry month, reported by the processor: Stripe gives it) is
warned from the first day of the month before the expiry month until the expiry itself.
*A card expiring 01/2027 (valid through January 31, 2027) is warned on December 1, 2026.*
One notice per card expiry (`card_expiry_noticed_for`); the email only if the product
sends it (Settings → Payment recovery, on by default), the event always.

The notice is the event `payment_method.expiring` (a segmentation trigger and a webhook,
with the expiry and the last four digits), recorded in the same transaction as the claim,
and a card link (`PaymentLink`, purpose `card`): the payment page without an amount,
which saves a new card and charges nothing. It works until the card's expiry and is done
as soon as the card changes, wherever it changed. The email goes through the payment
links' email (sent once, swept like the others).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import scheduling
from recovery.models import PaymentLink
from recovery.tasks import payment_emails_dispatch
from subscriptions import billing
from subscriptions.events import EventType
from subscriptions.models import Status, Subscription
from subscriptions.outbox import event_record
from subscriptions.policies import recovery_policies_of

BATCH = 500


def warn_from(expires_on: date) -> date:
    """The first day of the month before the card's expiry month."""
    first = expires_on.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


@scheduling.register_job("card_expiry_notices", queue="email")
def card_expiry_notices_send(*, now: datetime | None = None) -> int:
    """Warn the subscribers whose card expires next month; returns how many were warned.
    Rows are claimed with `SKIP LOCKED`, so two runs never warn of one card twice."""
    now = now or timezone.now()
    today_anywhere = now.date()
    issued: list[int] = []
    warned = 0
    with transaction.atomic():
        candidates = list(
            Subscription.objects.filter(
                status__in=[Status.ACTIVE, Status.DELAYED],
                next_charge_date__isnull=False,
                card_expires_on__isnull=False,
                # Local dates differ from UTC by less than a day on either side.
                card_expires_on__gte=today_anywhere - timedelta(days=1),
                card_expires_on__lte=today_anywhere + timedelta(days=63),
            )
            .filter(
                Q(card_expiry_noticed_for__isnull=True)
                | ~Q(card_expiry_noticed_for=F("card_expires_on"))
            )
            .select_related("plan__product", "creator")
            .select_for_update(of=("self",), skip_locked=True)
            .order_by("card_expires_on", "pk")[:BATCH]
        )
        policies = recovery_policies_of(candidates)
        for subscription in candidates:
            expires = subscription.card_expires_on
            assert expires is not None
            today = billing.local_date(now, subscription.creator.tz)
            if not (warn_from(expires) <= today <= expires):
                continue
            subscription.card_expiry_noticed_for = expires
            subscription.save(update_fields=["card_expiry_noticed_for"])
            event = event_record(
                subscription=subscription,
                type=EventType.PAYMENT_METHOD_EXPIRING,
                data={
                    "expires_on": expires.isoformat(),
                    "exp_month": expires.month,
                    "exp_year": expires.year,
                },
                occurred_at=now,
            )
            warned += 1
            policy = policies.get(subscription.plan.product_id)
            if policy is not None and not policy.send_card_expiring_email:
                continue  # the event still reaches rules and webhooks
            link = PaymentLink.objects.create(
                creator_id=subscription.creator_id,
                subscription=subscription,
                event=event,
                purpose=PaymentLink.Purpose.CARD,
                period_start=expires,
                amount=Decimal("0"),
                currency=subscription.plan.currency,
                attempt=0,
                created_at=now,
                expires_at=datetime.combine(
                    expires + timedelta(days=1), time.min, tzinfo=subscription.creator.tz
                ),
            )
            issued.append(link.pk)
        if issued:
            transaction.on_commit(partial(payment_emails_dispatch, issued))
    return warned
