"""Free trials (SPEC §4.7): a plan may start with 1 to 90 free days before its first
charge, with or without a card, once per subscriber email and product.

- **Start**: a sale (`POST /subscriptions`, or any caller of `services.subscription_create`)
  of a plan with `trial_days` charges nothing. The subscription is ACTIVE at once with
  `trial_ends_on` = the local sale date + trial days, which is also its anchor, its
  `paid_through` (access through the trial) and its first due date. `trial.started`
  (`trial_ends_on`, `days`, `card`) is recorded with `subscription.created`.
- **Card**: `trial_requires_card` (the default) validates the payment method as any sale
  does. Without it the sale may come with no method at all.
- **Once per subscriber and product**: a subscriber (one email, per creator) who ever had
  a trial of any plan of the product gets none again: the sale is charged at once like
  any sale (and, with no payment method, is refused with 400).
- **End**: the first charge is the renewal of the period starting `trial_ends_on`, made
  by the renewal job like every renewal (same claim, same key, same retries). Paid →
  `trial.converted`. Declined → "Payment late", retries and the payment-failed email
  with its link to pay, like any renewal; a trial without a card is a hard decline
  (`no_payment_method`): no automatic retry, the link lets the subscriber add a card and
  pay, after which it renews normally.
- **Reminder**: three days before the trial ends, `trial.ending` and an email in the
  subscriber's language with the date and the amount (the renewal-reminder job,
  recovery/reminders.py), whatever the product's renewal reminders say.

*Example: a monthly plan at 49.90 with a 14-day trial, sold on March 1 → ACTIVE, trial
ends March 15, nothing charged; reminded March 12; March 15 charges 49.90 for March 15 →
April 15 and records `trial.converted`; April 15 renews.*
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Creator
from subscriptions import billing
from subscriptions.events import EventType
from subscriptions.models import Plan, Status, Subscriber, Subscription
from subscriptions.outbox import event_record

TRIAL_REMINDER_DAYS = 3
MAX_TRIAL_DAYS = 90


def trial_granted(*, plan: Plan, subscriber: Subscriber) -> bool:
    """Whether a sale of `plan` to `subscriber` starts with a free trial (see the module)."""
    if plan.trial_days <= 0:
        return False
    return not Subscription.objects.filter(
        subscriber=subscriber,
        plan__product_id=plan.product_id,
        trial_ends_on__isnull=False,
    ).exists()


def trial_start(
    *, creator: Creator, plan: Plan, subscriber: Subscriber, payment_method: str
) -> Subscription:
    """A new ACTIVE subscription in its free trial (inside the caller's transaction)."""
    now = timezone.now()
    ends_on = billing.local_date(now, creator.tz) + timedelta(days=plan.trial_days)
    subscription = Subscription.objects.create(
        creator=creator,
        subscriber=subscriber,
        plan=plan,
        payment_method=payment_method,
        started_at=now,
        billing_anchor=ends_on,
        next_charge_date=ends_on,
        paid_through=ends_on,
        trial_ends_on=ends_on,
        status=Status.ACTIVE,
    )
    event_record(
        subscription=subscription,
        type=EventType.SUBSCRIPTION_CREATED,
        data={"status": Status.ACTIVE, "import": False, "trial": True},
    )
    event_record(
        subscription=subscription,
        type=EventType.TRIAL_STARTED,
        data={
            "trial_ends_on": ends_on.isoformat(),
            "days": plan.trial_days,
            "card": bool(payment_method),
        },
    )
    return subscription
