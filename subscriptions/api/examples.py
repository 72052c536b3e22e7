"""OpenAPI examples of the main operations (shown in /api/docs/)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_SUBSCRIPTION = {
    "id": "6f1c2f4e-8a53-4a8e-9a56-0f5f3b1f1d2a",
    "status": "ACTIVE",
    "product": "0b5a4a53-51a5-4f2c-9b7e-8b0c1a7f7e11",
    "plan": "a1d4f1b2-34c5-4d6e-8f90-1a2b3c4d5e6f",
    "subscriber": {
        "id": "2c9d7e1f-3a4b-4c5d-9e8f-7a6b5c4d3e2f",
        "email": "ana@example.com",
        "name": "Ana Souza",
        "locale": "pt-BR",
    },
    "started_at": "2025-01-31T13:45:00+00:00",
    "billing_anchor": "2025-01-31",
    "next_charge_date": "2025-02-28",
    "paid_through": "2025-02-28",
    "recurrence": 1,
    "unpaid_recurrences": 0,
    "cancelled_at": None,
    "cancellation": None,
}

PRODUCT_CREATE = [
    OpenApiExample("New product", value={"name": "Photography course"}, request_only=True),
    OpenApiExample(
        "Created",
        value={
            "id": "0b5a4a53-51a5-4f2c-9b7e-8b0c1a7f7e11",
            "name": "Photography course",
            "is_active": True,
            "created_at": "2025-01-31T13:40:00+00:00",
        },
        response_only=True,
        status_codes=["201"],
    ),
]

PLAN_CREATE = [
    OpenApiExample(
        "Monthly plan",
        value={
            "product": "0b5a4a53-51a5-4f2c-9b7e-8b0c1a7f7e11",
            "name": "Monthly",
            "price": "49.90",
            "currency": "BRL",
            "period": "monthly",
            "max_cycles": 12,
        },
        request_only=True,
    ),
]

SUBSCRIPTION_CREATE = [
    OpenApiExample(
        "New sale",
        value={
            "plan": "a1d4f1b2-34c5-4d6e-8f90-1a2b3c4d5e6f",
            "subscriber": {"email": "ana@example.com", "name": "Ana Souza", "locale": "pt-BR"},
            "payment_method": "pm_sandbox_ok",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Import (past started_at, nothing charged)",
        value={
            "plan": "a1d4f1b2-34c5-4d6e-8f90-1a2b3c4d5e6f",
            "subscriber": {"email": "bia@example.com", "name": "Bia Lima"},
            "payment_method": "pm_sandbox_ok",
            "started_at": "2024-11-15T10:00:00-03:00",
        },
        request_only=True,
    ),
    OpenApiExample("Paid sale", value=_SUBSCRIPTION, response_only=True, status_codes=["201"]),
    OpenApiExample(
        "Declined first charge",
        value={
            **_SUBSCRIPTION,
            "status": "INACTIVE",
            "next_charge_date": None,
            "paid_through": None,
            "recurrence": 0,
        },
        response_only=True,
        status_codes=["201"],
    ),
]

SUBSCRIPTION = [OpenApiExample("Subscription", value=_SUBSCRIPTION, response_only=True)]

CANCEL = [
    OpenApiExample("With a reason", value={"reason": "Customer asked by email"}, request_only=True),
    OpenApiExample(
        "Cancelled",
        value={
            **_SUBSCRIPTION,
            "status": "CANCELLED_BY_SELLER",
            "next_charge_date": None,
            "cancelled_at": "2025-02-10T09:00:00+00:00",
            "cancellation": {"source": "seller", "reason": "Customer asked by email"},
        },
        response_only=True,
        status_codes=["200"],
    ),
]

CHANGE_PLAN = [
    OpenApiExample(
        "To a dearer monthly plan",
        value={"plan": "5b0c9a1e-2f3d-4c5b-8a7e-6d1f0e9c8b7a"},
        request_only=True,
    ),
    OpenApiExample(
        "Upgraded now",
        value={
            "subscription": {**_SUBSCRIPTION, "plan": "5b0c9a1e-2f3d-4c5b-8a7e-6d1f0e9c8b7a"},
            "change": {
                "kind": "upgrade_now",
                "effective_on": "2025-01-25",
                "scheduled_plan": None,
                "cancelled": False,
                "proration": {
                    "period_start": "2025-01-10",
                    "period_end": "2025-02-10",
                    "days_left": 16,
                    "days_in_period": 31,
                    "credit": "25.81",
                    "charge": "41.29",
                    "amount_due": "15.48",
                },
                "charge": {
                    "id": "0f4e2b8c-9d1a-4e3b-b6c5-7a8d9e0f1a2b",
                    "amount": "15.48",
                    "currency": "BRL",
                    "status": "succeeded",
                    "kind": "plan_change",
                    "period_start": "2025-01-10",
                    "period_end": "2025-02-10",
                    "created_at": "2025-01-25T14:00:00+00:00",
                },
            },
        },
        response_only=True,
        status_codes=["200"],
    ),
]

PAUSE = [
    OpenApiExample(
        "For two periods, from now",
        value={"when": "now", "periods": 2},
        request_only=True,
    ),
    OpenApiExample(
        "Until a date, from the period end",
        value={"when": "period_end", "until": "2025-06-01"},
        request_only=True,
    ),
    OpenApiExample(
        "Paused",
        value={
            "subscription": {**_SUBSCRIPTION, "status": "PAUSED", "next_charge_date": None},
            "pause": {
                "when": "now",
                "starts_on": "2025-01-25",
                "resumes_on": "2025-04-10",
                "access_until": "2025-02-10",
            },
        },
        response_only=True,
        status_codes=["200"],
    ),
]

RESUME = [
    OpenApiExample("Start a new period today", value={"how": "new_period"}, request_only=True),
    OpenApiExample(
        "Resumed and charged",
        value={
            "subscription": {
                **_SUBSCRIPTION,
                "billing_anchor": "2025-04-20",
                "next_charge_date": "2025-05-20",
                "paid_through": "2025-05-20",
            },
            "resume": {
                "how": "new_period",
                "next_charge_date": "2025-04-20",
                "charge": {
                    "id": "2c5d7e9f-1a3b-4c6d-8e0f-2a4b6c8d0e1f",
                    "amount": "49.90",
                    "currency": "BRL",
                    "status": "succeeded",
                    "kind": "renewal",
                    "period_start": "2025-04-20",
                    "period_end": "2025-05-20",
                    "created_at": "2025-04-20T12:00:00+00:00",
                },
            },
        },
        response_only=True,
        status_codes=["200"],
    ),
]

BILLING_DAY = [
    OpenApiExample("To the 20th", value={"day": 20}, request_only=True),
    OpenApiExample(
        "Ten days later",
        value={
            "subscription": {
                **_SUBSCRIPTION,
                "billing_anchor": "2025-01-20",
                "next_charge_date": "2025-02-20",
                "paid_through": "2025-02-20",
            },
            "billing_day": {"next_charge_date": "2025-02-20", "days": 10, "adjustment": "16.10"},
        },
        response_only=True,
        status_codes=["200"],
    ),
]

COUPON_CREATE = [
    OpenApiExample(
        "20 % off the first three periods",
        value={
            "code": "WELCOME20",
            "kind": "percent",
            "value": "20",
            "duration": "repeating",
            "duration_periods": 3,
            "max_redemptions": 100,
        },
        request_only=True,
    ),
]
