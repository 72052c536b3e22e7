from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.selectors import memberships_for_user
from dashboard.nav import NAV_ITEMS


def dashboard(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "membership", None)
    if current is None:
        return {}
    return {
        "membership": current,
        "creator": current.creator,
        "nav_items": NAV_ITEMS,
        # Lazy: only pages that render the switcher run the query. Only what the switcher
        # shows is loaded (not the creator's encrypted gateway credentials, decrypted per
        # row otherwise).
        "switcher_memberships": SimpleLazyObject(
            lambda: list(
                memberships_for_user(user=request.user).only(  # type: ignore[arg-type]
                    "id", "creator_id", "creator__id", "creator__uuid", "creator__name"
                )
            )
        ),
    }
