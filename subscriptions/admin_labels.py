"""How a support agent reads a subscription on a confirmation page (reason actions of
core.admin, the reactivation admin's "send a request" page)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


def subscription_label(subscription: Any) -> str:
    """Who, what and whose, for a support agent confirming an action: subscriber (email
    and name), product and plan, creator, status. Needs subscriber, plan__product and
    creator loaded with the subscription."""
    subscriber = subscription.subscriber
    who = f"{subscriber.email} ({subscriber.name})" if subscriber.name else subscriber.email
    plan = subscription.plan
    return " · ".join(
        [
            who,
            f"{plan.product.name} — {plan.name}",
            str(_("creator: %(name)s") % {"name": subscription.creator.name}),
            str(subscription.get_status_display()),
        ]
    )


SUBSCRIPTION_LABEL_RELATED = ("subscriber", "plan__product", "creator")
