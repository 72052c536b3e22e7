"""Tenant-isolation case (T1) of the per-product payment recovery page."""

from __future__ import annotations

from accounts.models import Creator
from tests.reliability.dashboard_cases import Built, Call, DashboardCase, _subscription


def product_object(creator: Creator, marker: str) -> Built:
    product = _subscription(creator, marker).plan.product
    return Built(kwargs={"uuid": str(product.uuid)}, refs={"product": product})


CASES = {
    "dashboard:recovery_policy": DashboardCase(
        build=product_object,
        calls={
            "get": Call(),
            "post": Call(
                ok=302,
                data=lambda b: {
                    "retry_schedule": "2, 4",
                    "final_action": "cancel",
                    "send_payment_failed_email": "on",
                    "payment_failed_message": "",
                },
            ),
        },
    ),
}
