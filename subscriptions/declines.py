"""Which declines are worth retrying (SPEC §4.6).

A *hard* decline will fail again with the same payment method: the card was reported
stolen or lost, the account is closed or invalid, or the issuer said not to try again.
Automatic retries stop until the subscriber gives a new method. Every other decline is
*soft* (insufficient funds, a generic decline…) and follows the retry schedule.

The codes are Stripe's `decline_code` and error `code` values
(https://docs.stripe.com/declines/codes); the sandbox gateway answers the same codes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class DeclineClass(enum.StrEnum):
    STOLEN_OR_LOST = "stolen_or_lost"
    INVALID_ACCOUNT = "invalid_account"
    DO_NOT_RETRY = "do_not_retry"
    SOFT = "soft"


HARD_DECLINE_CODES: dict[str, DeclineClass] = {
    "stolen_card": DeclineClass.STOLEN_OR_LOST,
    "lost_card": DeclineClass.STOLEN_OR_LOST,
    "pickup_card": DeclineClass.STOLEN_OR_LOST,
    "invalid_account": DeclineClass.INVALID_ACCOUNT,
    "account_closed": DeclineClass.INVALID_ACCOUNT,
    "expired_card": DeclineClass.INVALID_ACCOUNT,
    "incorrect_number": DeclineClass.INVALID_ACCOUNT,
    "invalid_number": DeclineClass.INVALID_ACCOUNT,
    "do_not_try_again": DeclineClass.DO_NOT_RETRY,
    "do_not_honor": DeclineClass.DO_NOT_RETRY,
    "revocation_of_all_authorizations": DeclineClass.DO_NOT_RETRY,
    "revocation_of_authorization": DeclineClass.DO_NOT_RETRY,
    "stop_payment_order": DeclineClass.DO_NOT_RETRY,
    "security_violation": DeclineClass.DO_NOT_RETRY,
    "restricted_card": DeclineClass.DO_NOT_RETRY,
    "transaction_not_allowed": DeclineClass.DO_NOT_RETRY,
    # Ours, not Stripe's: no payment method was ever saved (a free trial that did not
    # ask for a card). Nothing to retry until the subscriber gives one.
    "no_payment_method": DeclineClass.INVALID_ACCOUNT,
}


def decline_code(details: Mapping[str, Any]) -> str:
    """The most specific code a gateway gave: Stripe's `decline_code`, else its `code`."""
    return str(details.get("decline_code") or details.get("code") or "")


def decline_class(details: Mapping[str, Any]) -> DeclineClass:
    return HARD_DECLINE_CODES.get(decline_code(details), DeclineClass.SOFT)


def is_hard_decline(details: Mapping[str, Any]) -> bool:
    return decline_class(details) is not DeclineClass.SOFT
