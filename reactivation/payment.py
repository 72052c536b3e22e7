"""Paying a declined reactivate-and-charge with another card (SPEC §4.6, §6.1).

When the charge of an accepted reactivate-and-charge is declined, the request ends
`failed` and the subscription stays cancelled; the answer page links to a payment page
(`/pay/<token>/`, the recovery app's) valid until the request's own link would have
expired. Paying there charges the same period (starting the day the subscriber pays,
*R*) with the new method under a new idempotency key; paid → the request is `accepted`
and the subscription reactivated exactly as an accept would have (anchor := R,
next charge = paid_through = R + 1 period), and the method is saved.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from reactivation.acceptance import _apply, _outcome
from reactivation.models import Mode, ReactivationRequest
from recovery.models import PaymentLink
from recovery.purposes import PaymentAnswer, register_payer
from recovery.services import payment_link_for_charge
from subscriptions import billing, transitions
from subscriptions.cards import card_data
from subscriptions.gateways import GatewayError, get_gateway
from subscriptions.models import Charge, Subscription
from subscriptions.overdue import PENDING_LEASE
from subscriptions.reactivation_rules import reactivation_refusal
from subscriptions.services import charge_call_gateway, charge_settle, transition_record

FAILED = ReactivationRequest.Status.FAILED


def payment_link_for_declined(*, request: ReactivationRequest) -> str | None:
    """The payment page's URL for a reactivate-and-charge whose charge was declined
    (None otherwise). Shown once, on the page that tells the subscriber."""
    charge = request.charge
    if (
        request.status != FAILED
        or request.mode != Mode.REACTIVATE_AND_CHARGE
        or charge is None
        or charge.status != Charge.Status.DECLINED
        or timezone.now() >= request.expires_at
    ):
        return None
    with transaction.atomic():
        return payment_link_for_charge(
            subscription=request.subscription,
            charge=charge,
            purpose=PaymentLink.Purpose.REACTIVATION,
            reference=request.uuid,
            expires_at=request.expires_at,
        )


def _lock(link: PaymentLink) -> ReactivationRequest | None:
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan__product", "creator", "subscriber")
        .get(pk=link.subscription_id, creator_id=link.creator_id)
    )
    request = (
        ReactivationRequest.objects.select_for_update(of=("self",))
        .select_related("charge")
        .filter(uuid=link.reference, subscription=subscription, creator_id=link.creator_id)
        .first()
    )
    if request is not None:
        request.subscription = subscription
    return request


def reactivation_pay_with_new_method(*, link: PaymentLink, payment_method: str) -> PaymentAnswer:
    """Charge the failed request's reactivation with `payment_method`; see the module."""
    subscription = link.subscription
    try:
        get_gateway(subscription.creator).validate_payment_method(
            payment_method=payment_method, customer=subscription.subscriber.gateway_customer_id
        )
    except GatewayError as exc:
        return PaymentAnswer("invalid_method", str(exc))
    now = timezone.now()
    with transaction.atomic():
        request = _lock(link)
        if request is None or request.status != FAILED or now >= request.expires_at:
            return PaymentAnswer("nothing_due")
        locked = request.subscription
        if reactivation_refusal(locked, as_support=True) is not None:
            return PaymentAnswer("nothing_due")
        previous = request.charge
        if previous is not None and previous.status == Charge.Status.PENDING:
            if now - previous.updated_at < PENDING_LEASE:
                return PaymentAnswer("processing")
            charge = previous  # abandoned mid-call: the same key again
        else:
            outcome = _outcome(request, locked, billing.local_date(now, locked.creator.tz))
            assert outcome.charge_period_start is not None
            assert outcome.charge_period_end is not None
            tries = Charge.objects.filter(
                subscription=locked, idempotency_key__startswith=f"reactivation_{request.uuid.hex}"
            ).count()
            charge = Charge.objects.create(
                creator_id=locked.creator_id,
                subscription=locked,
                amount=locked.plan.price,
                currency=locked.plan.currency,
                kind=Charge.Kind.REACTIVATION,
                period_start=outcome.charge_period_start,
                period_end=outcome.charge_period_end,
                idempotency_key=f"reactivation_{request.uuid.hex}_pay{tries}",
                gateway=locked.creator.gateway,
            )
            request.charge = charge
            request.save(update_fields=["charge"])

    charge.subscription = locked
    locked.payment_method = payment_method  # charged with the new method, saved if paid
    result = charge_call_gateway(charge=charge)

    with transaction.atomic():
        request = _lock(link)
        assert request is not None
        locked = request.subscription
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        charge.subscription = locked
        charge_settle(charge=charge, result=result)
        request.charge = charge
        if charge.status == Charge.Status.SUCCEEDED:
            if locked.payment_method != payment_method:  # (Stripe's page recorded its own)
                events = transitions.payment_method_changed(
                    locked,
                    payment_method=payment_method,
                    data={
                        "source": "subscriber",
                        "gateway": charge.gateway,
                        **card_data(result.details.get("card")),
                    },
                )
                locked.save(
                    update_fields=["payment_method", "retries_stopped_code", "card_expires_on"]
                )
                transition_record(subscription=locked, events=events)
            _apply(
                request, locked, _outcome(request, locked, charge.period_start), now, charged=True
            )
            return PaymentAnswer("paid", next_charge_date=locked.next_charge_date)
        if charge.status == Charge.Status.DECLINED:
            request.failure_message = (charge.failure_message or "")[:500]
            request.save(update_fields=["failure_message"])
            return PaymentAnswer("declined", charge.failure_message)
    return PaymentAnswer("error", result.message)


def _payer(link: PaymentLink, payment_method: str) -> PaymentAnswer:
    try:
        return reactivation_pay_with_new_method(link=link, payment_method=payment_method)
    except DomainError as exc:
        return PaymentAnswer("invalid_method", exc.message)


register_payer(PaymentLink.Purpose.REACTIVATION, _payer)
