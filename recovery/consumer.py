"""The recovery app's consumer of the subscription event stream: a failed renewal or
retry of a late subscription issues a payment link and emails it (SPEC §4.6); a
cancellation for non-payment tells the subscriber and the creator (`recovery.notices`)."""

from __future__ import annotations

from recovery import notices, services
from subscriptions.models import SubscriptionEvent


def recovery_consume(event: SubscriptionEvent) -> None:
    if event.type == "charge.failed":
        services.payment_link_issue(event=event)
    elif event.type == "payment_method.updated" and (event.data or {}).get("payment_link"):
        services.payment_link_pay_with_saved_method(event=event)
    elif notices.is_cancelled_for_non_payment(event):
        notices.cancelled_unpaid_notices_issue(event=event)
