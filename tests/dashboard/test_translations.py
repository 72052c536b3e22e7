from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

PO_FILE = Path(settings.BASE_DIR) / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[tuple[str, list[str]]]:
    """(msgid, [msgstr, msgstr[0], …]) of every entry but the header, fuzzy ones flagged."""
    entries, msgid, msgstrs, current = [], None, [], None
    fuzzy = False
    for line in [*text.splitlines(), ""]:
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            msgid, current, msgstrs = line[7:-1], "id", []
        elif line.startswith("msgid_plural"):
            current = "plural"
        elif line.startswith("msgstr"):
            msgstrs.append(line.split(" ", 1)[1][1:-1])
            current = "str"
        elif line.startswith('"') and current:
            if current == "id":
                msgid += line[1:-1]
            elif current == "str":
                msgstrs[-1] += line[1:-1]
        elif not line.strip() and msgid is not None:
            entries.append((msgid if not fuzzy else "FUZZY:" + msgid, msgstrs))
            msgid, current, fuzzy = None, None, False
    return [e for e in entries if e[0] != ""]


def test_every_msgid_has_a_portuguese_translation():
    entries = _entries(PO_FILE.read_text())
    assert len(entries) > 100
    missing = [msgid for msgid, strs in entries if not all(strs) or msgid.startswith("FUZZY:")]
    assert missing == []


def test_compiled_catalog_is_committed_and_current():
    mo = PO_FILE.with_suffix(".mo")
    assert mo.exists()
    assert mo.stat().st_size > 1000


@pytest.mark.django_db
def test_pages_render_in_portuguese(owner):
    client = Client(HTTP_ACCEPT_LANGUAGE="pt-BR")
    html = client.get(reverse("login")).content.decode()
    assert "Entrar" in html and "Esqueceu sua senha?" in html
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert "Visão geral" in html
    assert "Assinaturas por status" in html


@pytest.mark.django_db
def test_money_and_numbers_follow_the_language(creator, owner):
    from tests.factories import SubscriptionFactory

    SubscriptionFactory(creator=creator, plan__product__creator=creator, plan__price="1234.50")
    client = Client(HTTP_ACCEPT_LANGUAGE="pt-BR")
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get(reverse("dashboard:subscriptions")).content.decode()
    assert "R$\xa01.234,50" in html


def test_portuguese_spells_e_mail_one_way():
    import re

    stray = [
        text
        for _msgid, strs in _entries(PO_FILE.read_text())
        for text in strs
        if re.search(r"(?<![(\w\-./@])[Ee]mails?\b(?!\))", text)
    ]
    assert stray == []


def test_portuguese_month_names_are_lower_case():
    from datetime import date

    from django.utils import translation
    from django.utils.formats import date_format

    with translation.override("pt-br"):
        assert date_format(date(2026, 12, 3)) == "3 de dezembro de 2026"
        assert date_format(date(2026, 3, 1), "E") == "março"
    with translation.override("en"):
        assert date_format(date(2026, 12, 3)) == "Dec. 3, 2026"
