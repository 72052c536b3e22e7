"""Inbound Stripe webhooks: refunds and disputes made at Stripe reach our history.

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
from subscriptions.charges import charge_chargeback, charge_refund
from subscriptions.models import Charge, StripeWebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
STRIPE = Actor.system("stripe")
HANDLED_TYPES = frozenset({"charge.refunded", "charge.dispute.created"})


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


def _apply(*, creator: Creator, event: dict[str, Any]) -> str:
    kind = event["type"]
    obj = event["data"]["object"]
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
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = StripeWebhookEvent.objects.create(
                    creator=creator, stripe_event_id=event["id"][:100], type=event["type"][:100]
                )
        except IntegrityError:
            return WebhookOutcome(event["id"], event["type"], "duplicate")
        row.outcome = _apply(creator=creator, event=event)
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
