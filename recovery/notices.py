"""Lifecycle notices of payment recovery (SPEC §4.6): when a subscription is cancelled
for non-payment (the product's final action after the last retry, or the fifth unpaid
period in a row), the subscriber and the creator's owners are told by email.

- The subscriber, in their language: which subscription ended, what was left unpaid,
  and where to come back (the manage page: restart). Sent when the product sends its
  payment-failed emails (the same switch in Settings → Payment recovery).
- The creator's owners, in the creator's language: who, which plan, how much, with a
  link to the subscription in the dashboard. Always sent.

Idempotent per event (`NoticeSent`, unique on event and kind), emails queued after
commit; a notice whose email was never handed over (broker down, worker killed) is sent
by the `notice_email_sweep` job two minutes later.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from core import scheduling
from notifications.email import email_message, email_render, email_send_many
from recovery.models import NoticeSent
from subscriptions.events import EventType
from subscriptions.models import Charge, RecoveryPolicy, Status, SubscriptionEvent

logger = logging.getLogger(__name__)

K = NoticeSent.Kind
SWEEP_AFTER = timedelta(minutes=2)


def is_cancelled_for_non_payment(event: SubscriptionEvent) -> bool:
    data = event.data or {}
    return (
        event.type == EventType.SUBSCRIPTION_STATUS_CHANGED
        and data.get("to") == Status.CANCELLED_BY_ADMIN
        and data.get("reason") == "unpaid"
    )


def cancelled_unpaid_notices_issue(*, event: SubscriptionEvent) -> list[str]:
    """Record the notices this event calls for (each once) and queue their emails after
    commit; returns the kinds newly recorded."""
    if not is_cancelled_for_non_payment(event):
        return []
    subscription = event.subscription
    policy = RecoveryPolicy.objects.filter(product_id=subscription.plan.product_id).first()
    kinds = [K.CANCELLED_UNPAID_CREATOR]
    if policy is None or policy.send_payment_failed_email:
        kinds.insert(0, K.CANCELLED_UNPAID_SUBSCRIBER)
    issued: list[str] = []
    for kind in kinds:
        try:
            with transaction.atomic():
                NoticeSent.objects.create(creator_id=event.creator_id, event=event, kind=kind)
        except IntegrityError:
            continue  # this event's notice was issued already
        issued.append(kind)
    if issued:
        transaction.on_commit(partial(notices_dispatch, event.pk, issued))
    return issued


def notices_dispatch(event_id: int, kinds: list[str]) -> None:
    """Queue a notice's emails (after commit); a broker outage is left to the sweep."""
    from recovery.tasks import notice_emails_send

    try:
        notice_emails_send.apply_async(args=(event_id, kinds), queue="email")
    except Exception:
        logger.warning("notices of event %s not queued now; the sweep job sends them", event_id)


@scheduling.register_job("notice_email_sweep", queue="email")
def notice_email_sweep() -> int:
    """Send the notices (cancelled for non-payment, renewal reminders) recorded over two
    minutes ago whose email never went out."""
    cutoff = timezone.now() - SWEEP_AFTER
    pending: dict[int, list[str]] = defaultdict(list)
    for event_id, kind in NoticeSent.objects.filter(
        sent_at__isnull=True, created_at__lte=cutoff
    ).values_list("event_id", "kind")[:500]:
        pending[event_id].append(kind)
    return sum(notice_emails_send(event_id=e, kinds=k) for e, k in pending.items())


def _context(event: SubscriptionEvent) -> dict[str, Any]:
    subscription = event.subscription
    unpaid = (
        Charge.objects.filter(subscription=subscription, status=Charge.Status.DECLINED)
        .order_by("-period_start", "-id")
        .first()
    )
    return {
        "creator_name": subscription.creator.name,
        "subscriber_name": subscription.subscriber.name,
        "subscriber_email": subscription.subscriber.email,
        "product_name": subscription.plan.product.name,
        "plan_name": subscription.plan.name,
        "amount": unpaid.amount if unpaid else Decimal(subscription.plan.price),
        "currency": unpaid.currency if unpaid else subscription.plan.currency,
        "manage_url": settings.BASE_URL
        + reverse("subscriber:sign_in_request", args=[subscription.creator.slug]),
        "dashboard_url": settings.BASE_URL
        + reverse("dashboard:subscription_detail", kwargs={"uuid": subscription.uuid}),
    }


def notice_emails_send(*, event_id: int, kinds: list[str]) -> int:
    """Send the notices `kinds` of one event not sent yet; how many emails went out.
    Each notice is claimed (`sent_at`) under a row lock first, so two workers never send
    it twice; if sending fails the claim is released for a later try."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            NoticeSent.objects.select_for_update(skip_locked=True)
            .filter(event_id=event_id, kind__in=kinds, sent_at__isnull=True)
            .unscoped("a worker sending one event's notices, by the event's id")
        )
        NoticeSent.objects.filter(pk__in=[n.pk for n in claimed]).update(sent_at=now)
    kinds = [n.kind for n in claimed]
    if not kinds:
        return 0
    try:
        return _send(event_id, kinds)
    except Exception:
        NoticeSent.objects.filter(pk__in=[n.pk for n in claimed], sent_at=now).update(sent_at=None)
        raise


def _send(event_id: int, kinds: list[str]) -> int:
    event = (
        SubscriptionEvent.objects.select_related(
            "creator", "subscription__subscriber", "subscription__plan__product"
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        return 0
    event.subscription.creator = event.creator
    subscriber = event.subscription.subscriber
    context = _context(event)
    messages = []
    for kind in (K.RENEWAL_REMINDER, K.TRIAL_ENDING):
        if kind not in kinds:
            continue
        data = event.data or {}
        with timezone.override(event.creator.tz):
            rendered = email_render(
                template="renewal_reminder" if kind == K.RENEWAL_REMINDER else "trial_ending",
                context={
                    **context,
                    "amount": Decimal(str(data.get("amount", context["amount"]))),
                    "currency": data.get("currency", context["currency"]),
                    "charge_date": date.fromisoformat(str(data.get("next_charge_date"))),
                    "has_card": bool(data.get("card", True)),
                },
                locale=subscriber.locale,
            )
        messages.append(email_message(to=subscriber.email, rendered=rendered))
    if K.CANCELLED_UNPAID_SUBSCRIBER in kinds:
        rendered = email_render(
            template="cancelled_unpaid", context=context, locale=subscriber.locale
        )
        messages.append(email_message(to=subscriber.email, rendered=rendered))
    if K.CANCELLED_UNPAID_CREATOR in kinds:
        rendered = email_render(
            template="cancelled_unpaid_creator", context=context, locale=event.creator.locale
        )
        owners = Membership.objects.filter(
            creator_id=event.creator_id, role=Role.OWNER, user__is_active=True
        ).values_list("user__email", flat=True)
        messages.extend(email_message(to=email, rendered=rendered) for email in owners)
    return email_send_many(messages)
