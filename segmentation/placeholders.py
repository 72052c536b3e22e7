"""`send_email` subjects and bodies: `{{ subscriber.name }}`-style placeholders, filled by
plain substitution from a fixed list of names. No template language runs on what a
creator typed, so a body can neither reach other data nor execute anything; the result is
escaped again when it goes into the HTML part."""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")

PLACEHOLDERS = (
    "subscriber.name",
    "subscriber.email",
    "product.name",
    "plan.name",
    "subscription.status",
    "creator.name",
)


def unknown_placeholders(text: str) -> list[str]:
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace each known placeholder by its value (empty when unknown to this contact)."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), text)
