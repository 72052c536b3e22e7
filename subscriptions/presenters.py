"""The subscription as the API shows it (SPEC §10), shared by the API, webhooks and
segmentation so every outside view of a subscription has one shape."""

from __future__ import annotations

from typing import Any

from subscriptions.models import Subscription


def subscription_as_api(subscription: Subscription) -> dict[str, Any]:
    """Needs `plan__product` and `subscriber` loaded (select_related) to stay query-free."""
    plan = subscription.plan
    subscriber = subscription.subscriber
    cancellation = None
    if subscription.cancellation_source:
        cancellation = {
            "source": subscription.cancellation_source,
            "reason": subscription.cancellation_reason,
        }
    return {
        "id": str(subscription.uuid),
        "status": subscription.status,
        "product": str(plan.product.uuid),
        "plan": str(plan.uuid),
        "subscriber": {
            "id": str(subscriber.uuid),
            "email": subscriber.email,
            "name": subscriber.name,
            "locale": subscriber.locale,
        },
        "started_at": subscription.started_at.isoformat(),
        "billing_anchor": subscription.billing_anchor.isoformat(),
        "next_charge_date": _date(subscription.next_charge_date),
        "paid_through": _date(subscription.paid_through),
        "recurrence": subscription.recurrence,
        "unpaid_recurrences": subscription.unpaid_recurrences,
        "cancelled_at": subscription.cancelled_at.isoformat()
        if subscription.cancelled_at
        else None,
        "cancellation": cancellation,
    }


def _date(value: Any) -> str | None:
    return value.isoformat() if value else None
