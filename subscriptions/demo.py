"""Demo data for `manage.py seed_demo`: products, plans and a few hundred subscriptions
with real histories.

The history is not faked row by row: the real services and billing jobs are replayed
over a simulated clock (six months, one day at a time), so every charge, status and
event is exactly what production would have written. Events of the replayed past are
marked processed instead of being queued, so the worker starts with an empty backlog.
"""

from __future__ import annotations

import contextlib
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

from django.db.models import F
from django.utils import timezone

from accounts.models import Creator
from core.actors import Actor, ActorKind
from core.errors import DomainError
from subscriptions import billing, renewals
from subscriptions.models import Plan, Product, Status, Subscription, SubscriptionEvent
from subscriptions.pauses import subscription_pause
from subscriptions.services import (
    SubscriberData,
    plan_create,
    product_create,
    subscription_cancel,
    subscription_create,
)

DEMO_LOCALES = ("pt-BR", "en")

HISTORY_DAYS = 180
DUE_TODAY = 5
FIRST_NAMES = ["ana", "bruno", "carla", "diego", "elisa", "felipe", "gabi", "heitor", "iris"]
LAST_NAMES = ["souza", "lima", "costa", "rocha", "alves", "pereira", "martins", "gomes"]
CANCEL_REASONS = {
    "customer": ["Too expensive", "Not using it enough", "Found another course"],
    "seller": ["Refund requested by e-mail", "Duplicate purchase"],
    "admin": ["Fraud suspicion", "Requested through support"],
}


def seed(creator: Creator) -> None:
    """Seed once per creator; later runs only top up subscriptions due today."""
    if not creator.products.exists():
        plans = _catalogue(creator)
        _History(creator, plans, random.Random(42)).replay()
    _due_today(creator)


def _catalogue(creator: Creator) -> dict[str, Plan]:
    specs: dict[str, list[tuple[str, str, str, int | None]]] = {
        "Yoga Club": [
            ("weekly", "Weekly", "14.90", None),
            ("monthly", "Monthly", "49.90", None),
            ("yearly", "Yearly", "479.00", None),
        ],
        "Finance Masterclass": [
            ("quarterly", "Quarterly", "129.00", None),
            ("semiannual", "Every six months", "239.00", None),
            ("monthly", "3 instalments", "99.00", 3),
        ],
        "Photography Pro": [("bimonthly", "Every two months", "89.90", None)],
    }
    plans: dict[str, Plan] = {}
    for product_name, plan_specs in specs.items():
        product: Product = product_create(creator=creator, name=product_name)
        for period, name, price, max_cycles in plan_specs:
            plan = plan_create(
                creator=creator,
                product=product,
                name=name,
                price=Decimal(price),
                currency=creator.currency,
                period=period,
                max_cycles=max_cycles,
            )
            plans[f"{product_name}/{name}"] = plan
    return plans


@contextmanager
def _clock(start: datetime) -> Iterator[list[datetime]]:
    """`timezone.now()` answers the simulated time; events are not published."""
    current = [start]
    with (
        mock.patch("django.utils.timezone.now", side_effect=lambda: current[0]),
        mock.patch("subscriptions.outbox.publish_many"),
    ):
        yield current


class _History:
    def __init__(self, creator: Creator, plans: dict[str, Plan], rng: random.Random) -> None:
        self.creator = creator
        self.plans = plans
        self.rng = rng
        self.today = billing.local_date(timezone.now(), creator.tz)
        self.actions: dict[date, list[Callable[[], None]]] = defaultdict(list)
        self.count = 0

    def replay(self) -> None:
        started = timezone.now()
        first_day = self.today - timedelta(days=HISTORY_DAYS)
        self._plan_guaranteed_statuses(first_day)
        with _clock(self._noon(first_day)) as clock:
            day = first_day
            while day < self.today:  # today's renewals are left to the worker
                clock[0] = self._noon(day)
                renewals.renewals_run()
                renewals.retries_run()
                renewals.first_charges_run()
                renewals.resumes_run()
                for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3])):
                    self._random_sale(day)
                for action in self.actions.pop(day, []):
                    action()
                day += timedelta(days=1)
        SubscriptionEvent.objects.filter(
            creator=self.creator, processed_at__isnull=True, occurred_at__lt=started
        ).update(processed_at=F("occurred_at"))

    def _noon(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(12)), self.creator.tz)

    def _sale(self, plan_key: str, method: str = "pm_sandbox_ok") -> Subscription:
        self.count += 1
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        return subscription_create(
            creator=self.creator,
            plan=self.plans[plan_key],
            subscriber=SubscriberData(
                email=f"{first}.{last}.{self.count}@example.com",
                name=f"{first.title()} {last.title()}",
                # Both languages, so the demo shows the Portuguese emails and pages too.
                locale=DEMO_LOCALES[self.count % len(DEMO_LOCALES)],
            ),
            payment_method=method,
        )

    def _at(self, day: date, action: Callable[[], None]) -> None:
        if day < self.today:
            self.actions[day].append(action)

    def _plan_guaranteed_statuses(self, first_day: date) -> None:
        """A few scripted lives, so every status shows up whatever the dice say."""
        self._at(
            first_day + timedelta(days=5),
            lambda: self._sales("Finance Masterclass/3 instalments", 5),
        )
        self._at(
            first_day + timedelta(days=60),
            lambda: self._sales("Yoga Club/Weekly", 3, card_fails_after=10),
        )
        self._at(
            self.today - timedelta(days=45),
            lambda: self._sales("Yoga Club/Monthly", 6, card_fails_after=25),
        )
        self._at(
            self.today - timedelta(days=1),
            lambda: self._sales("Yoga Club/Monthly", 2, method="pm_sandbox_error"),
        )
        self._at(
            self.today - timedelta(days=40),
            lambda: self._sales("Yoga Club/Monthly", 3, pause_after=10),
        )

    def _sales(
        self,
        plan_key: str,
        n: int,
        method: str = "pm_sandbox_ok",
        card_fails_after: int = 0,
        pause_after: int = 0,
    ) -> None:
        for _ in range(n):
            subscription = self._sale(plan_key, method)
            if card_fails_after:
                self._card_fails(subscription, card_fails_after, recovers_after=0)
            if pause_after:
                day = billing.local_date(timezone.now(), self.creator.tz)
                self._at(day + timedelta(days=pause_after), self._pause_for(subscription, None))

    def _random_sale(self, day: date) -> None:
        roll = self.rng.random()
        method = (
            "pm_sandbox_declined"
            if roll < 0.07
            else "pm_sandbox_error"
            if roll < 0.09
            else "pm_sandbox_ok"
        )
        subscription = self._sale(self.rng.choice(list(self.plans)), method)
        if subscription.status != Status.ACTIVE:
            return
        fate = self.rng.random()
        later = day + timedelta(days=self.rng.randint(3, 150))
        if fate < 0.12:
            self._at(later, lambda: self._cancel(subscription, "customer"))
        elif fate < 0.17:
            self._at(later, lambda: self._cancel(subscription, "seller"))
        elif fate < 0.20:
            self._at(later, lambda: self._cancel(subscription, "admin"))
        elif fate < 0.32:
            recovers = self.rng.choice([0, 2, 4])
            self._card_fails(subscription, (later - day).days, recovers_after=recovers)
        elif fate < 0.37:
            self._at(later, self._pause_for(subscription, self.rng.choice([1, 2, None])))

    def _pause_for(self, subscription: Subscription, periods: int | None) -> Callable[[], None]:
        """Paused by the creator now, for `periods` (None: until resumed)."""

        def pause() -> None:
            with contextlib.suppress(DomainError):  # no longer active: nothing to pause
                subscription_pause(
                    subscription=subscription, actor=_DEMO_ACTORS["seller"], periods=periods
                )

        return pause

    def _card_fails(self, subscription: Subscription, after_days: int, recovers_after: int) -> None:
        """The card starts declining; with `recovers_after` the subscriber fixes it."""
        day = billing.local_date(timezone.now(), self.creator.tz) + timedelta(days=after_days)
        self._at(day, lambda: _set_method(subscription, "pm_sandbox_declined"))
        if recovers_after:
            self._at(
                day + timedelta(days=recovers_after + 30),
                lambda: _set_method(subscription, "pm_sandbox_ok"),
            )

    def _cancel(self, subscription: Subscription, source: str) -> None:
        # Already ended or cancelled by the billing rules: nothing to do.
        with contextlib.suppress(DomainError):
            subscription_cancel(
                subscription=subscription,
                actor=_DEMO_ACTORS[source],
                reason=self.rng.choice(CANCEL_REASONS[source]),
            )


# Who "acted" in the demo's history: the cancellation source follows from the kind.
_DEMO_ACTORS = {
    "customer": Actor(ActorKind.SUBSCRIBER, "demo", "demo"),
    "seller": Actor(ActorKind.MEMBER, "demo", "demo"),
    "admin": Actor.system("demo"),
}


def _set_method(subscription: Subscription, method: str) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(payment_method=method)


def _due_today(creator: Creator) -> None:
    """A handful of ACTIVE subscriptions due today, so the worker renews them within a
    minute of `make run`. Imported a period ago (imports charge nothing retroactively).
    The last one's card is declined: its payment-failed email, with the payment link,
    lands in the development outbox."""
    today = billing.local_date(timezone.now(), creator.tz)
    monthly = Plan.objects.filter(creator=creator, period="monthly", max_cycles__isnull=True)
    weekly = Plan.objects.filter(creator=creator, period="weekly")
    anchor = billing.add_months(today, -1)
    plan = monthly.first()
    if plan is None or billing.due_date(anchor, "monthly", 1) != today:
        anchor, plan = today - timedelta(days=7), weekly.first()
    if plan is None:
        return
    started_at = timezone.make_aware(datetime.combine(anchor, time(10)), creator.tz)
    for k in range(1, DUE_TODAY + 1):
        email = f"renews.{today:%Y%m%d}.{k}@example.com"
        if Subscription.objects.filter(creator=creator, subscriber__email=email).exists():
            continue
        declined = k == DUE_TODAY
        subscription_create(
            creator=creator,
            plan=plan,
            subscriber=SubscriberData(
                email=email,
                name="Declined Today" if declined else f"Renews Today {k}",
                locale=DEMO_LOCALES[k % len(DEMO_LOCALES)],
            ),
            payment_method="pm_sandbox_declined" if declined else "pm_sandbox_ok",
            started_at=started_at,
        )
