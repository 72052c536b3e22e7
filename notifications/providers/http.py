"""HTTP plumbing shared by the provider adapters: base-URL override, timeouts, rate
limits and the mapping of HTTP failures to `ProviderError`. The calls go out through the
egress client (core.egress: SSRF guard, total deadline, size cap, kept connections).

Every adapter calls `ProviderClient.request()` with the provider's documented path; the
scheme and host come from the provider's real base URL unless `PROVIDER_BASE_URLS[name]`
replaces them (tests, egress proxies). Messages never contain credentials: every text
that reaches a `ProviderError` goes through `redact()`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings

from core import egress
from core.egress import TargetRefused, url_check
from notifications.providers.base import ProviderError

logger = logging.getLogger(__name__)

# Longest provider text kept in a message a creator reads.
MESSAGE_LIMIT = 300


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class ProviderClient:
    """One provider's HTTP client for one integration.

    `secrets` are the credential values to scrub from every message; `limiter` is entered
    around each request (rate limit or concurrency slot shared across workers).
    """

    def __init__(
        self,
        *,
        provider: str,
        label: str,
        base_url: str,
        headers: dict[str, str],
        auth: httpx.Auth | tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        limiter: Any = None,
    ) -> None:
        override = settings.PROVIDER_BASE_URLS.get(provider)
        # A base URL from PROVIDER_BASE_URLS is the operator's; any other host (e.g.
        # ActiveCampaign's api_url, typed by a creator) goes through the SSRF guard.
        self.guarded = not override
        self.provider = provider
        self.label = label
        self.base_url = (override or base_url).rstrip("/")
        self.headers = {"Accept": "application/json", **headers}
        self.auth = auth
        self.secrets = [s for s in secrets if s]
        self.limiter = limiter

    def _slot(self) -> AbstractContextManager[Any]:
        return self.limiter.slot() if self.limiter is not None else nullcontext()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (None for an empty 2xx body)."""
        url = f"{self.base_url}{path}"
        timeout = settings.PROVIDER_TIMEOUT_SECONDS
        if self.guarded:
            try:
                url_check(url, allow_private=False, require_https=False)
            except TargetRefused as exc:
                raise ProviderError(f"{self.label}: {exc}", permanent=True) from None
        try:
            with self._slot():
                response = self._send(method, url, json_body, params, timeout)
        except egress.ResponseTooLarge:
            raise ProviderError(
                f"{self.label} answered with more than "
                f"{settings.PROVIDER_MAX_RESPONSE_BYTES} bytes; we will try again.",
                permanent=False,
            ) from None
        except httpx.InvalidURL:
            raise ProviderError(
                f"{self.label}: the API URL is not valid.", permanent=True
            ) from None
        except httpx.TimeoutException:
            raise ProviderError(
                f"{self.label} did not answer within {timeout:g} s (a network problem, not "
                "the credentials); we will try again.",
                permanent=False,
                network=True,
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"Could not reach {self.label} ({type(exc).__name__}: a network problem, not "
                "the credentials); we will try again.",
                permanent=False,
                network=True,
            ) from None
        logger.info("%s %s %s -> %s", self.provider, method, path, response.status_code)
        if 200 <= response.status_code < 300:
            return self._decode(response)
        raise self.error_for(response)

    def _send(
        self,
        method: str,
        url: str,
        json_body: Any,
        params: dict[str, Any] | None,
        timeout: float,
    ) -> httpx.Response:
        """One exchange within `timeout` seconds in total (a trickling server is cut
        off), reading at most PROVIDER_MAX_RESPONSE_BYTES of the answer."""
        client = egress.client(guard=self.guarded)
        request = client.build_request(
            method, url, json=json_body, params=params, headers=self.headers, timeout=timeout
        )
        return egress.exchange(
            client,
            request,
            seconds=timeout,
            max_bytes=settings.PROVIDER_MAX_RESPONSE_BYTES,
            auth=self.auth,
        )

    def _decode(self, response: httpx.Response) -> Any:
        if not response.content.strip():
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderError(
                f"{self.label} answered {response.status_code} with a body that is not valid "
                "JSON; we will try again.",
                permanent=False,
                status=response.status_code,
            ) from None

    def provider_detail(self, response: httpx.Response) -> tuple[str, str, tuple[str, ...]]:
        """The provider's own explanation, its error code and the field-level details,
        from the documented error body shapes:
        Mailchimp problem+json `{title, detail, errors: [{field, message}]}`;
        Brevo `{code, message}`; ActiveCampaign `{message}` or
        `{errors: [{title, detail, code, source: {pointer}}]}`."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "", "", ()
        if not isinstance(body, dict):
            return "", "", ()
        parts: list[str] = []
        for key in ("title", "detail", "message"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        details: list[str] = []
        errors = body.get("errors")
        for item in errors if isinstance(errors, list) else []:
            if not isinstance(item, dict):
                continue
            source = item.get("source")
            pointer = source.get("pointer") if isinstance(source, dict) else None
            field = str(item.get("field") or pointer or "").strip("/").rpartition("/")[2]
            what = str(item.get("message") or item.get("title") or item.get("detail") or "")
            if what:
                details.append(f"{field}: {what}" if field else what)
        code = body.get("code")
        return ": ".join(parts), code if isinstance(code, str) else "", tuple(details[:10])

    def error_for(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        text, code, raw_details = self.provider_detail(response)
        details = tuple(redact(d, self.secrets)[:MESSAGE_LIMIT] for d in raw_details)
        detail = "; ".join(p for p in (redact(text, self.secrets)[:MESSAGE_LIMIT], *details) if p)
        suffix = f" ({detail})" if detail else ""
        if status in (401, 403):
            return ProviderError(
                f"{self.label} refused the credentials (HTTP {status}){suffix}. "
                "Check the API key and save the integration again.",
                permanent=True,
                status=status,
                code=code,
                details=details,
                auth=True,
            )
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None:
                retry_after = self.fallback_retry_after(response)
            what = "is rate limiting us" if status == 429 else "had an internal error"
            return ProviderError(
                f"{self.label} {what} (HTTP {status}){suffix}; we will try again.",
                permanent=False,
                retry_after=retry_after,
                status=status,
                code=code,
                details=details,
            )
        if status in (400, 404, 409, 422) or 400 <= status < 500:
            what = "could not find it" if status == 404 else "rejected the request"
            return ProviderError(
                f"{self.label} {what} (HTTP {status}){suffix}.",
                permanent=True,
                status=status,
                code=code,
                details=details,
            )
        # 1xx/3xx: we never follow redirects, so a redirect means a wrong base URL.
        return ProviderError(
            f"{self.label} answered with an unexpected HTTP {status}.",
            permanent=True,
            status=status,
            code=code,
            details=details,
        )

    def fallback_retry_after(self, response: httpx.Response) -> float | None:
        """Providers without `Retry-After` override this (Brevo's x-sib-ratelimit-reset)."""
        return None
