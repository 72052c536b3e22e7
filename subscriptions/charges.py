"""Refunds and chargebacks on settled charges (support admin, gateway webhooks)."""

from __future__ import annotations

from django.db import transaction

from core.actors import Actor
from core.errors import Conflict, DomainError
from subscriptions.events import EventType
from subscriptions.gateways import get_gateway
from subscriptions.models import Charge, Subscription
from subscriptions.outbox import event_record


def _charge_event_data(charge: Charge, **extra: str) -> dict[str, str]:
    return {
        "charge": str(charge.uuid),
        "amount": str(charge.amount),
        "currency": charge.currency,
        "kind": charge.kind,
        **extra,
    }


def charge_refund(
    *, charge: Charge, actor: Actor, reason: str = "", call_gateway: bool = True
) -> Charge:
    """Refund a succeeded charge in full and record `charge.refunded`.

    `call_gateway=False` records a refund the processor already made (its webhook told us).
    The subscription's dates are not changed: access rules after a refund are the
    creator's call (they can cancel too). A charge is refunded at most once.
    """
    with transaction.atomic():
        locked = Charge.objects.select_for_update().get(pk=charge.pk)
        if locked.status == Charge.Status.REFUNDED:
            raise Conflict("This charge was already refunded.", code="already_refunded")
        if locked.status != Charge.Status.SUCCEEDED:
            raise Conflict("Only a succeeded charge can be refunded.", code="not_refundable")
        if call_gateway:
            subscription = Subscription.objects.select_related("creator").get(
                pk=locked.subscription_id
            )
            result = get_gateway(subscription.creator).refund(
                reference=locked.gateway_reference,
                amount=locked.amount,
                currency=locked.currency,
                idempotency_key=f"refund_{locked.idempotency_key}",
            )
            if not result.succeeded:
                raise DomainError(
                    f"The payment gateway refused the refund: {result.message}",
                    code="refund_failed",
                )
        locked.status = Charge.Status.REFUNDED
        locked.save(update_fields=["status", "updated_at"])
        event_record(
            subscription=locked.subscription,
            type=EventType.CHARGE_REFUNDED,
            data=_charge_event_data(locked, reason=reason.strip()[:500], actor=actor.ref),
        )
    return locked


def charge_chargeback(*, charge: Charge, actor: Actor, reason: str = "") -> Charge:
    """Record a chargeback (dispute) on a succeeded or refunded charge: `charge.chargeback`."""
    with transaction.atomic():
        locked = Charge.objects.select_for_update().get(pk=charge.pk)
        if locked.status == Charge.Status.CHARGEBACK:
            raise Conflict(
                "A chargeback is already recorded for this charge.", code="already_chargeback"
            )
        if locked.status not in (Charge.Status.SUCCEEDED, Charge.Status.REFUNDED):
            raise Conflict("Only a paid charge can be charged back.", code="not_chargeable")
        locked.status = Charge.Status.CHARGEBACK
        locked.save(update_fields=["status", "updated_at"])
        event_record(
            subscription=locked.subscription,
            type=EventType.CHARGE_CHARGEBACK,
            data=_charge_event_data(locked, reason=reason.strip()[:500], actor=actor.ref),
        )
    return locked
