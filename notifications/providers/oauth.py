"""What a provider whose access comes from an OAuth2 authorization-code flow adds to the
adapter interface (RD Station Marketing).

The creator types their own app's client id and secret into the integration form; we
send their browser to the provider's consent page with a signed `state`, the provider
sends it back to our callback with a `code`, and `exchange_code()` turns that into
tokens that are stored with the other credentials (encrypted at rest). Access tokens
expire: the adapter refreshes them (on a 401 or shortly before expiry) through
`notifications.services.integration_tokens_refresh`, which serialises refreshes of
one integration across workers, so a rolling refresh token is used once.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OAuthProvider:
    """Mixed into an `EmailMarketingProvider` whose tokens come from an OAuth2 flow."""

    oauth: ClassVar[bool] = True
    # Credential keys the flow adds (never typed by the creator).
    token_fields: ClassVar[tuple[str, ...]] = ("access_token", "refresh_token", "expires_at")

    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        raise NotImplementedError

    def exchange_code(self, *, code: str, redirect_uri: str) -> dict[str, Any]:
        """Trade the authorization code for tokens; return the credential keys to store."""
        raise NotImplementedError


def is_oauth(provider_cls: type[Any]) -> bool:
    return bool(getattr(provider_cls, "oauth", False))
