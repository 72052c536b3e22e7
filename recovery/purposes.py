"""What paying a link does, per purpose. The recovery app pays overdue subscriptions
itself; the reactivation app registers the payer of a declined reactivate-and-charge
(it sits above this app, so this app never imports it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from recovery.models import PaymentLink


@dataclass(frozen=True)
class PaymentAnswer:
    """`paid`, `updated` (a card link saved the new method, nothing charged), `declined`
    (message: the processor's reason), `error` (the processor did not answer),
    `processing` (another submission is charging), `nothing_due` or `invalid_method`."""

    outcome: str
    message: str = ""
    next_charge_date: date | None = None


Payer = Callable[[PaymentLink, str], PaymentAnswer]
_PAYERS: dict[str, Payer] = {}


def register_payer(purpose: str, payer: Payer) -> None:
    _PAYERS[purpose] = payer


def payer_for(purpose: str) -> Payer:
    return _PAYERS[purpose]
