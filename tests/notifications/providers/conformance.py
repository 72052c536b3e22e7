"""Conformance with a provider's official SDK (see test_conformance.py): the same
operation done with the SDK and with our adapter, each against a fresh copy of the same
spec-built fake, must send the same method, path, query and JSON body keys. A new
provider with an official SDK writes its operations and calls `conforms()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import override_settings

from notifications.models import Integration
from notifications.providers import provider_for
from notifications.providers.base import EmailMarketingProvider
from tests.notifications.factories import IntegrationFactory
from tests.notifications.providers.fakes import FakeProvider
from tests.notifications.providers.fakes.base import Call


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """{"a": {"b": 1}, "c": [{"d": 2}]} → {"a", "a.b", "c", "c[].d"}."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}{key}"
            found |= {path} | key_paths(inner, f"{path}.")
    elif isinstance(value, list):
        for inner in value:
            found |= key_paths(inner, f"{prefix.rstrip('.')}[].")
    return found


def shape(call: Call) -> tuple[str, str, dict[str, list[str]], set[str]]:
    return (call.method, call.path, call.query, key_paths(call.body))


@dataclass(frozen=True)
class Operation:
    name: str
    seed: Callable[[FakeProvider], dict[str, str]]
    sdk: Callable[[Any, dict[str, str]], object]
    ours: Callable[[EmailMarketingProvider, dict[str, str]], object]


def conforms(fake_class: type[FakeProvider], operation: Operation, sdk_client: Any) -> None:
    with fake_class() as for_sdk, fake_class() as for_us:
        for_us.api_key = for_sdk.api_key
        context = operation.seed(for_sdk)
        assert operation.seed(for_us) == context  # the same world on both
        operation.sdk(sdk_client(for_sdk), context)
        settings_urls = {for_us.provider: for_us.url}
        integration = IntegrationFactory(
            provider=for_us.provider,
            credentials=for_us.credentials(),
            status=Integration.Status.CONNECTED,
        )
        with override_settings(PROVIDER_BASE_URLS=settings_urls, PROVIDER_TIMEOUT_SECONDS=2.0):
            operation.ours(provider_for(integration), context)
        sdk_calls = [shape(c) for c in for_sdk.calls]
        our_calls = [shape(c) for c in for_us.calls]
        assert sdk_calls, "the SDK made no call: the operation tests nothing"
        assert our_calls == sdk_calls
        # Both worlds end the same (the fakes are stateful).
        assert for_us.contacts() == for_sdk.contacts()
