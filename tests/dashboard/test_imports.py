"""Importing subscribers from a CSV file: preview, per-row errors, no charge, idempotent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from subscriptions import imports
from subscriptions.models import Charge, Status, Subscription, SubscriptionEvent
from tests.factories import PlanFactory

pytestmark = pytest.mark.django_db

URL = "dashboard:subscriptions_import"


def csv_file(text: str, name: str = "subscribers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def good_csv(plan, n: int = 2) -> str:
    lines = ["email,name,plan,started_at,payment_method"]
    for i in range(n):
        lines.append(f"fan{i}@example.com,Fan {i},{plan.name},2025-03-10,pm_sandbox_ok")
    return "\n".join(lines) + "\n"


def preview(client, text: str, name: str = "subscribers.csv"):
    return client.post(reverse(URL), {"file": csv_file(text, name)})


def confirm(client, content: str):
    return client.post(reverse(URL), {"confirmed": "1", "content": content})


def test_preview_writes_nothing_then_import_creates_without_charging(creator, owner, login):
    plan = PlanFactory(product__creator=creator, name="Mensal", period="monthly")
    client = login(owner)
    response = preview(client, good_csv(plan))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-count="rows"><strong>2<' in html and "fan1@example.com" in html
    assert not Subscription.objects.filter(creator=creator).exists()

    done = confirm(client, good_csv(plan))
    assert done.status_code == 200
    assert 'data-count="created">2<' in done.content.decode()
    subscriptions = Subscription.objects.filter(creator=creator)
    assert subscriptions.count() == 2
    assert not Charge.objects.filter(creator=creator).exists()  # nothing retroactive
    s = subscriptions.get(subscriber__email="fan0@example.com")
    assert s.status == Status.ACTIVE
    assert s.billing_anchor == date(2025, 3, 10)
    assert s.next_charge_date.day == 10 and s.next_charge_date >= timezone.localdate()
    assert s.subscriber.name == "Fan 0"
    assert SubscriptionEvent.objects.filter(subscription=s, type="subscription.created").exists()


def test_uploading_the_same_file_again_imports_nothing_twice(creator, owner, login):
    plan = PlanFactory(product__creator=creator, name="Mensal")
    client = login(owner)
    confirm(client, good_csv(plan))
    html = preview(client, good_csv(plan)).content.decode()
    assert 'data-count="rows"><strong>0<' in html and 'data-count="already">2<' in html
    assert 'id="import-confirm"' not in html
    done = confirm(client, good_csv(plan)).content.decode()
    assert 'data-count="created">0<' in done and 'data-count="already">2<' in done
    assert Subscription.objects.filter(creator=creator).count() == 2


def test_every_bad_row_is_named_with_its_line_and_column(creator, owner, login):
    plan = PlanFactory(product__creator=creator, name="Mensal")
    PlanFactory(product__creator=creator, name="Twin")
    PlanFactory(product__creator=creator, name="Twin")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    text = "\n".join(
        [
            "email;name;plan;started_at;payment_method_token",  # Excel's semicolons
            "ok@example.com;Ok;Mensal;2025-03-10;pm_sandbox_ok",
            "not-an-email;X;Mensal;2025-03-10;pm_sandbox_ok",
            "a@example.com;X;Nope;2025-03-10;pm_sandbox_ok",
            "b@example.com;X;Twin;2025-03-10;pm_sandbox_ok",
            "c@example.com;X;Mensal;10/03/2025;pm_sandbox_ok",
            f"d@example.com;X;Mensal;{tomorrow};pm_sandbox_ok",
            "e@example.com;X;Mensal;2025-03-10;tok_unknown",
            "ok@example.com;Ok;Mensal;2025-03-10;pm_sandbox_ok",
        ]
    )
    html = preview(login(owner), text).content.decode()
    expected = {
        3: ("email", "Not a valid email address."),
        4: ("plan", "No plan with this id or name."),
        5: ("plan", "Several plans have this name; use the plan&#x27;s id."),
        6: ("started_at", "Not a date: use YYYY-MM-DD"),
        7: ("started_at", "Must be in the past"),
        8: ("payment_method", "Your payment gateway cannot charge it"),
        9: ("email", "The same subscription appears on an earlier line."),
    }
    for line, (column, message) in expected.items():
        row = html.split(f'<tr data-line="{line}">')[1].split("</tr>")[0]
        assert f"<code>{column}</code>" in row, (line, row)
        assert message in row, (line, row)
    assert 'data-count="rows"><strong>1<' in html
    assert 'data-count="errors">7<' in html
    assert plan.name in html


def test_file_level_errors_are_clear_and_nothing_is_lost(creator, owner, login, monkeypatch):
    PlanFactory(product__creator=creator, name="Mensal")
    client = login(owner)
    missing = preview(client, "email,name\nfan@example.com,Fan\n")
    assert missing.status_code == 400
    assert "missing: plan, started_at, payment_method" in missing.content.decode()
    monkeypatch.setattr(imports, "IMPORT_MAX_BYTES", 100)
    monkeypatch.setattr("dashboard.views.imports.IMPORT_MAX_BYTES", 100)
    big = preview(client, "email,plan,started_at,payment_method\n" + "x" * 200)
    assert big.status_code == 400
    assert "larger than 0 kB" in big.content.decode()
    monkeypatch.setattr(imports, "IMPORT_MAX_BYTES", 1_000_000)
    monkeypatch.setattr(imports, "IMPORT_MAX_ROWS", 2)
    monkeypatch.setattr("dashboard.views.imports.IMPORT_MAX_BYTES", 1_000_000)
    rows = preview(client, good_csv(PlanFactory(product__creator=creator), 3))
    assert rows.status_code == 400
    assert "more than 2 rows" in rows.content.decode()
    assert not Subscription.objects.filter(creator=creator).exists()


def test_latin1_file_from_a_spreadsheet_reads(creator, owner, login):
    PlanFactory(product__creator=creator, name="Mensal")
    text = (
        "email,name,plan,started_at,payment_method\n"
        "jo@example.com,João,Mensal,2025-03-10,pm_sandbox_ok\n"
    )
    response = login(owner).post(
        reverse(URL), {"file": SimpleUploadedFile("x.csv", text.encode("cp1252"))}
    )
    assert "João" in response.content.decode()


def test_viewer_reads_the_instructions_but_cannot_import(creator, viewer, login):
    plan = PlanFactory(product__creator=creator, name="Mensal")
    client = login(viewer)
    page = client.get(reverse(URL))
    assert page.status_code == 200 and 'id="import-read-only"' in page.content.decode()
    assert preview(client, good_csv(plan)).status_code == 403
    assert confirm(client, good_csv(plan)).status_code == 403
    assert not Subscription.objects.filter(creator=creator).exists()


def test_preview_query_count_does_not_grow_with_rows(creator, owner, login):
    plan = PlanFactory(product__creator=creator, name="Mensal")
    client = login(owner)

    def count(n: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert preview(client, good_csv(plan, n)).status_code == 200
        return len(ctx.captured_queries)

    assert count(1) == count(50)
