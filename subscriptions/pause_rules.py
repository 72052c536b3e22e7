"""Pause and resume (SPEC §4.7): a subscription stops being charged for a while and then
goes on, instead of being cancelled.

**Pause.** Only an ACTIVE subscription pauses (a late one pays what is due first; a
cancelled one is reactivated). *When*:
- `now`: PAUSED today; the renewal that was coming is not charged;
- `period_end`: it stays ACTIVE until its next due date, and on that date the renewal
  run pauses it instead of charging (`pause_starts_on`).

*For how long*, counted from the next due date D, so a pause never eats a period that
was paid: `periods` = N skips the next N renewals and resumes on the due date N periods
after D (the anchor series is kept); `until` resumes on that date (after D, within two
years); neither is open-ended (until someone resumes it). *Monthly on the 10th, paid
through May 10, paused on April 20 for 2 periods → PAUSED at once, no charge on May 10
or June 10, resumed on July 10 with a charge for July 10 to August 10.*

While PAUSED nothing is charged or retried, and the access rule of the product (Settings
→ product → Pause) says until when the subscriber keeps access: until `paid_through` (the
default) or not at all; it travels as `access_until` with `subscription.paused`.

**Resume** on the local date R (by the resume job on `resumes_on`, or by someone now):
- R < `paid_through` (the paid period is not over): ACTIVE, the anchor kept, the next
  charge on `paid_through`, nothing charged (both choices below agree);
- otherwise `new_period` ("start a new period today"; the resume job's choice and the
  subscriber's): the period starting R is charged at once by the renewal run, with the
  key any renewal of that period would use, so the resume job and the renewal job can
  never charge it twice. The anchor becomes R unless R is already a due date of the
  old anchor (a pause for N periods keeps the series: Jan 31 stays on month ends);
- or `continue` ("continue the paused period", the creator's choice): like the seed's
  `reactivate`, nothing is charged today and the period starting R is granted: the
  anchor becomes R (or stays, as above) and the next charge is one period after R.
  *Paused on May 10 (paid through May 10), resumed on June 25: `new_period` charges June
  25 to July 25 now; `continue` charges nothing and the next charge is July 25.*

A declined charge on resuming is a declined renewal: "Payment late", retries and the
payment-failed email, as for any renewal. Resuming a subscription whose pause is still
waiting for the period end calls the pause off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from subscriptions import billing
from subscriptions.models import RecoveryPolicy, Subscription

MAX_PAUSE_PERIODS = 24
MAX_PAUSE_DAYS = 730


class PauseWhen(models.TextChoices):
    NOW = "now", _("Now")
    PERIOD_END = "period_end", _("At the end of the paid period")


class ResumeHow(models.TextChoices):
    NEW_PERIOD = "new_period", _("Start a new period today (charged now)")
    CONTINUE = "continue", _("Continue the paused period (nothing charged today)")


# --- the rules, pure -----------------------------------------------------------------


def pause_resume_date(
    *, subscription: Subscription, periods: int | None, until: date | None, today: date
) -> date | None:
    """The date a pause asked today ends (see the module); DomainError when it cannot."""
    if periods is not None and until is not None:
        message = "Give either a number of periods or a date to resume on, not both."
        raise DomainError(message, code="invalid", details={"until": [message]})
    assert subscription.next_charge_date is not None
    start = subscription.next_charge_date
    plan = subscription.plan
    if periods is not None:
        if not 1 <= periods <= MAX_PAUSE_PERIODS:
            message = f"A pause lasts from 1 to {MAX_PAUSE_PERIODS} periods."
            raise DomainError(message, code="invalid", details={"periods": [message]})
        n = billing.period_index(subscription.billing_anchor, plan.period, start)
        return billing.due_date(subscription.billing_anchor, plan.period, n + periods)
    if until is not None:
        first = max(start, today) + timedelta(days=1)
        last = today + timedelta(days=MAX_PAUSE_DAYS)
        if not first <= until <= last:
            message = (
                f"The resume date must be between {first.isoformat()} and {last.isoformat()}: "
                "after the next due date, at most two years ahead."
            )
            raise DomainError(message, code="invalid", details={"until": [message]})
        return until
    return None


def access_until(
    policy: RecoveryPolicy | None, *, paused_on: date, paid_through: date | None
) -> date:
    """The last day of access of a subscription paused on `paused_on` (exclusive)."""
    if policy is not None and policy.pause_access == RecoveryPolicy.PauseAccess.STOP:
        return paused_on
    return max(paid_through or paused_on, paused_on)


@dataclass(frozen=True)
class ResumeOutcome:
    """What resuming on a date does to the billing dates; `how` is what applies:
    `same_cycle`, `continue` or `new_period`."""

    how: str
    billing_anchor: date
    next_charge_date: date
    paid_through: date | None
    charge_now: bool


def resume_outcome(
    *, how: str, paid_through: date | None, anchor: date, period: str, on: date
) -> ResumeOutcome:
    """The outcome of resuming on the local date `on` (see the module's worked example)."""
    if how not in ResumeHow.values:
        raise ValueError(f"unknown resume choice: {how!r}")
    if paid_through is not None and on < paid_through:
        return ResumeOutcome("same_cycle", anchor, paid_through, paid_through, charge_now=False)
    n, due = billing.first_due_on_or_after(anchor, period, on)
    if due != on:
        anchor, n = on, 0
    if how == ResumeHow.NEW_PERIOD:
        return ResumeOutcome(how, anchor, on, paid_through, charge_now=True)
    granted = billing.due_date(anchor, period, n + 1)
    return ResumeOutcome(how, anchor, granted, granted, charge_now=False)
