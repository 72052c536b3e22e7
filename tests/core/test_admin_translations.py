"""The support admin reads in Portuguese when the agent's language is pt-BR.

Every admin page of every registered model (change list, add form, change form of a demo
row) is rendered in English and in Portuguese; a label (column heading, form label, filter
title, action, model and app name) that reads the same in both languages was never
translated. The few words that are the same in both languages are listed below.
"""

from __future__ import annotations

import contextlib
import re
from html import unescape

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Words Portuguese writes as English does (or that are names, not words).
SAME_IN_BOTH = {
    "",
    "id",
    "uuid",
    "url",
    "status",
    "api",
    "ip",
    "mailchimp",
    "activecampaign",
    "brevo",
    "stripe",
    "sandbox",
    "webhook",
    "webhooks",
    "token",
    "hash",
    "email",  # a provider's kind ("email" channel), shown as the code's label
    "json",
    "csv",
    "oauth",
    "total",
    "local",
    "---------",
    # Languages are named in their own language in every list (docs/dashboard.md).
    "english",
    "português (brasil)",
}

_LABEL_PATTERNS = [
    re.compile(r"<th[^>]*scope=\"col\"[^>]*>(.*?)</th>", re.S),
    re.compile(r"<label[^>]*>(.*?)</label>", re.S),
    re.compile(r"<h3>\s*(.*?)\s*</h3>", re.S),
    re.compile(r"<option value=\"[a-z_]+\"[^>]*>(.*?)</option>", re.S),
    re.compile(r"<caption>\s*<a[^>]*>(.*?)</a>", re.S),
    re.compile(r"<th scope=\"row\"><a[^>]*>(.*?)</a></th>", re.S),
]


def _labels(html: str) -> set[str]:
    found: set[str] = set()
    for pattern in _LABEL_PATTERNS:
        for raw in pattern.findall(html):
            text = unescape(re.sub(r"<[^>]+>", " ", raw))
            text = " ".join(text.split()).strip(" :")
            if text:
                found.add(text)
    return found


def _pages() -> list[str]:
    urls = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        urls.append(reverse(f"{base}_changelist"))
        with contextlib.suppress(NoReverseMatch):  # an admin without an add view
            urls.append(reverse(f"{base}_add"))
        row = model_admin.get_queryset(_RequestStub()).order_by("pk").first()
        if row is not None:
            urls.append(reverse(f"{base}_change", args=[row.pk]))
    return urls


class _RequestStub:
    """What ModelAdmin.get_queryset reads from a request to list rows."""

    user = None

    def __getattr__(self, name: str) -> object:
        return None


def test_every_admin_label_is_translated_to_portuguese(client):  # type: ignore[no-untyped-def]
    call_command("seed_demo", verbosity=0)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    untranslated: dict[str, set[str]] = {}
    for url in _pages():
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        portuguese = client.get(url, HTTP_ACCEPT_LANGUAGE="pt-br")
        if english.status_code != 200:
            continue
        assert portuguese.status_code == 200, url
        same = _labels(english.content.decode()) & _labels(portuguese.content.decode())
        same = {label for label in same if label.lower() not in SAME_IN_BOTH}
        if same:
            untranslated[url] = same
    report = "\n".join(f"{url}: {sorted(labels)}" for url, labels in untranslated.items())
    everywhere = sorted(set().union(*untranslated.values())) if untranslated else []
    assert not untranslated, f"untranslated in pt-BR: {everywhere}\n{report}"
