"""Inbound Stripe webhooks: refunds and disputes made at Stripe reach our history, and
the card a subscriber saved on a Stripe Checkout page (setup mode) of the payment page
becomes the subscription's payment method (`payment_method.updated`; the recovery app
then pays what is due with it), a card updated by the network is recorded, and a
PaymentIntent that was `processing` settles its charge when it finishes
(`payment_intent.succeeded` / `payment_intent.payment_failed`).

`POST /webhooks/stripe/<creator uuid>/`, signed with the creator's webhook signing secret
(Stripe's `Stripe-Signature: t=…,v1=…` scheme, 300 s tolerance). Stripe delivers at
least once and retries any non-2xx answer for days, so: a bad signature or a body that is
not JSON is refused (400, nothing changes); everything we understand is applied once per
event id; everything else (unknown types, charges that are not ours) is answered 200 and
logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Creator
from core.actors import Actor
from core.errors import Conflict
from subscriptions.cards import card_data
from subscriptions.charges import charge_chargeback, charge_refund
from subscriptions.gateways import get_gateway
from subscriptions.gateways.stripe import SavedMethod, StripeGateway
from subscriptions.models import CANCELLED_STATUSES, Charge, StripeWebhookEvent, Subscription
from subscriptions.services import subscription_payment_method_set

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
STRIPE = Actor.system("stripe")
HANDLED_TYPES = frozenset({"charge.refunded", "charge.dispute.created"})
CHECKOUT_COMPLETED = "checkout.session.completed"
CARD_UPDATED = "payment_method.automatically_updated"
# A PaymentIntent left `processing` (bank debits) finished: its open charge is settled.
INTENT_FINISHED = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


class WebhookRejected(Exception):
    """The delivery cannot be trusted or read: answered 400 and nothing changes."""


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    type: str
    outcome: str  # applied | duplicate | ignored | unknown_charge | already_recorded | …


def _verify(*, creator: Creator, payload: bytes, signature: str) -> dict[str, Any]:
    secret = str((creator.gateway_credentials or {}).get("webhook_secret") or "")
    if not secret:
        raise WebhookRejected("no webhook signing secret is configured for this creator")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected("the body is not UTF-8") from exc
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"bad signature: {exc.user_message or exc}") from exc
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise WebhookRejected("the body is not JSON") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise WebhookRejected("the body is not a Stripe event")
    return event


def _charge_for_intent(*, creator: Creator, payment_intent: Any) -> Charge | None:
    # `payment_intent` is an id, or an expanded object on some API versions.
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if not isinstance(payment_intent, str) or not payment_intent:
        return None
    return (
        Charge.objects.filter(creator=creator, gateway_reference=payment_intent)
        .order_by("-id")
        .first()
    )


def _checkout_payment_method(*, creator: Creator, event: dict[str, Any]) -> SavedMethod | None:
    """The card a `setup` Checkout Session of our payment page saved, read from Stripe
    before any transaction opens (None for any other event). A Stripe error raises, so
    the delivery is answered 5xx and Stripe delivers it again."""
    obj = event["data"]["object"]
    if event["type"] != CHECKOUT_COMPLETED or obj.get("mode") != "setup":
        return None
    if not (obj.get("metadata") or {}).get("subscription"):
        return None
    setup_intent = obj.get("setup_intent")
    if isinstance(setup_intent, dict):
        setup_intent = setup_intent.get("id")
    if not isinstance(setup_intent, str) or not setup_intent:
        return None
    gateway = get_gateway(creator)
    if not isinstance(gateway, StripeGateway):
        return None
    return gateway.setup_intent_payment_method(setup_intent=setup_intent)


def _apply_checkout(*, creator: Creator, event: dict[str, Any], method: SavedMethod) -> str:
    metadata = event["data"]["object"].get("metadata") or {}
    try:
        subscription_uuid = uuid.UUID(str(metadata.get("subscription")))
    except ValueError:
        return "unknown_subscription"
    subscription = Subscription.objects.filter(creator=creator, uuid=subscription_uuid).first()
    if subscription is None:
        return "unknown_subscription"
    subscription_payment_method_set(
        subscription=subscription,
        payment_method=method.id,
        data={
            "source": "stripe_checkout",
            "payment_link": str(metadata.get("payment_link", "")),
            **card_data(method.card),
        },
    )
    return "applied"


def _apply_card_updated(*, creator: Creator, payment_method: dict[str, Any]) -> str:
    """The card network updated a saved card (new expiry or number) under the same
    PaymentMethod id: every subscription charging it records `payment_method.updated`,
    and a hard decline's stop on it (an expired card, say) is lifted."""
    method_id = payment_method.get("id")
    if not isinstance(method_id, str) or not method_id.startswith("pm_"):
        return "ignored"
    card = payment_method.get("card") or {}
    data = {"source": "stripe_card_updater", **card_data(card)}
    subscriptions = Subscription.objects.filter(creator=creator, payment_method=method_id)
    count = 0
    for subscription in subscriptions.exclude(status__in=sorted(CANCELLED_STATUSES)):
        subscription_payment_method_set(
            subscription=subscription, payment_method=method_id, data=data
        )
        count += 1
    return "applied" if count else "unknown_payment_method"


def _apply_intent_finished(*, creator: Creator, payment_intent: dict[str, Any]) -> str:
    """Our charge for this PaymentIntent, if still open (its last answer was
    `processing`), is settled right after commit by its billing job, which reads the
    PaymentIntent's final status with the same key: the same transitions, events and
    emails as a synchronous answer. Stripe sends these for every payment; one we already
    settled is answered `already_settled`."""
    charge = _charge_for_intent(creator=creator, payment_intent=payment_intent.get("id"))
    if charge is None:
        return "unknown_charge"
    if charge.status not in (Charge.Status.FAILED, Charge.Status.PENDING):
        return "already_settled"
    charge_id = charge.pk

    def settle() -> None:
        from subscriptions.tasks import charge_settle_now

        try:
            charge_settle_now.delay(charge_id)
        except Exception:  # the broker is down: the job's next try reads it anyway
            logger.warning("could not queue the settlement of charge %s", charge_id)

    transaction.on_commit(settle)
    return "settling"


def _apply(
    *, creator: Creator, event: dict[str, Any], payment_method: SavedMethod | None = None
) -> str:
    kind = event["type"]
    obj = event["data"]["object"]
    if kind in INTENT_FINISHED:
        return _apply_intent_finished(creator=creator, payment_intent=obj)
    if kind == CHECKOUT_COMPLETED:
        if payment_method is None:
            return "ignored"
        return _apply_checkout(creator=creator, event=event, method=payment_method)
    if kind == CARD_UPDATED:
        return _apply_card_updated(creator=creator, payment_method=obj)
    if kind not in HANDLED_TYPES:
        return "ignored"
    if kind == "charge.refunded" and not obj.get("refunded"):
        # Partial refunds have no counterpart here (a charge is refunded in full or not).
        logger.warning("Stripe event %s: partial refund not recorded", event["id"])
        return "partial_refund_ignored"
    charge = _charge_for_intent(creator=creator, payment_intent=obj.get("payment_intent"))
    if charge is None:
        logger.warning(
            "Stripe event %s (%s) for creator %s: no charge for payment intent %r",
            event["id"],
            kind,
            creator.uuid,
            obj.get("payment_intent"),
        )
        return "unknown_charge"
    try:
        if kind == "charge.refunded":
            charge_refund(
                charge=charge, reason="Refunded in Stripe", actor=STRIPE, call_gateway=False
            )
        else:
            charge_chargeback(
                charge=charge, reason=str(obj.get("reason") or "dispute"), actor=STRIPE
            )
    except Conflict as exc:
        # Already recorded (e.g. the refund was made from here and Stripe confirms it).
        logger.info("Stripe event %s: %s", event["id"], exc.message)
        return "already_recorded"
    return "applied"


def stripe_webhook_process(*, creator: Creator, payload: bytes, signature: str) -> WebhookOutcome:
    """Verify one Stripe delivery and apply it at most once per event id.

    `charge.refunded` (full refunds) → `charge.refunded`; `charge.dispute.created` →
    `charge.chargeback`; our charge is the one whose gateway reference is the Stripe
    charge's PaymentIntent. The dedup row and the change commit together, so a failure
    half way leaves nothing and Stripe's redelivery tries again.
    Raises WebhookRejected for a bad signature or an unreadable body.
    """
    event = _verify(creator=creator, payload=payload, signature=signature)
    if StripeWebhookEvent.objects.filter(
        creator=creator, stripe_event_id=event["id"][:100]
    ).exists():
        return WebhookOutcome(event["id"], event["type"], "duplicate")
    payment_method = _checkout_payment_method(creator=creator, event=event)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = StripeWebhookEvent.objects.create(
                    creator=creator, stripe_event_id=event["id"][:100], type=event["type"][:100]
                )
        except IntegrityError:
            return WebhookOutcome(event["id"], event["type"], "duplicate")
        row.outcome = _apply(creator=creator, event=event, payment_method=payment_method)
        row.save(update_fields=["outcome"])
    return WebhookOutcome(event["id"], event["type"], row.outcome)


@csrf_exempt
@require_POST
def stripe_webhook_view(request: HttpRequest, creator_uuid: uuid.UUID) -> HttpResponse:
    creator = Creator.objects.filter(uuid=creator_uuid).first()
    if creator is None:
        return JsonResponse(
            {"error": {"code": "not_found", "message": "Unknown endpoint."}}, status=404
        )
    try:
        outcome = stripe_webhook_process(
            creator=creator,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
    except WebhookRejected as exc:
        logger.warning("Stripe webhook refused for creator %s: %s", creator.uuid, exc)
        return JsonResponse({"error": {"code": "invalid_webhook", "message": str(exc)}}, status=400)
    return JsonResponse({"received": True, "outcome": outcome.outcome})
