"""A reactivation request as the API shows it (SPEC §10)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from reactivation.models import ReactivationRequest


def request_as_api(
    request: ReactivationRequest, *, subscription_uuid: UUID | None = None
) -> dict[str, Any]:
    """Needs `subscription` loaded (select_related), or its uuid given, to stay query-free."""
    return {
        "id": str(request.uuid),
        "subscription": str(subscription_uuid or request.subscription.uuid),
        "mode": request.mode,
        "status": request.status,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "failure_message": request.failure_message,
    }
