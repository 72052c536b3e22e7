"""Every dashboard page in Chromium, in English and Portuguese, at 1366 and 390 px wide.

The pages come from the URL resolver through the tenant-isolation registry
(tests/reliability/dashboard_cases.py): each route with a GET case is opened with the
objects its case builds, so a new page is walked as soon as it has a T1 case. The
subscription detail page gets a subscription with long names, every kind of charge and a
history of events, the texts that clipped before.

On each page: a full-page screenshot in test-artifacts/, then
- no table cell, summary term or value whose content is wider than its box
  (scrollWidth > clientWidth), and at laptop width no table hidden behind a horizontal
  scroller;
- the page itself never scrolls sideways;
- chart text shows at 11 px or more;
- no raw status or event code (`CANCELLED_BY_CUSTOMER`, `charge.failed`) is visible
  outside a `<code>` element (the webhook pages name the payload's `type` as code).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from subscriptions.models import Charge, Status
from subscriptions.services import subscription_cancel
from tests.browser.conftest import PASSWORD, shot, sign_in
from tests.factories import (
    ChargeFactory,
    CreatorFactory,
    MembershipFactory,
    PlanFactory,
    ProductFactory,
    SubscriberFactory,
    SubscriptionFactory,
    actor_for,
)
from tests.reliability.dashboard_cases import all_cases, dashboard_routes

LANGS = ["en", "pt-br"]
WIDTHS = [1366, 390]
EVENT_TYPES = (
    "subscription.created",
    "subscription.status_changed",
    "subscription.renewed",
    "subscription.reactivated",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.chargeback",
    "reactivation.requested",
    "reactivation.accepted",
    "reactivation.rejected",
    "reactivation.expired",
    "reactivation.failed",
)
RAW_CODE = re.compile(
    r"\b(?:"
    + "|".join(re.escape(s) for s in Status.values)
    + r")\b|(?<![\w.])(?:"
    + "|".join(re.escape(t) for t in EVENT_TYPES)
    + r")(?![\w.])"
)

# Elements that must show their whole content; their box, not an inner scroller.
OVERFLOW_SCRIPT = """
(checkTables) => {
  const found = [];
  // Shown, and not inside a box hidden for screen readers (a caption, a phone's thead).
  const visible = (el) => {
    if (el.getClientRects().length === 0) return false;
    for (let up = el; up && up !== document.body; up = up.parentElement) {
      if (up.getBoundingClientRect().width <= 1) return false;
    }
    return true;
  };
  const name = (el) => {
    const id = el.id ? '#' + el.id : '';
    const text = (el.innerText || '').trim().slice(0, 60);
    return `${el.tagName.toLowerCase()}${id} "${text}"`;
  };
  for (const el of document.querySelectorAll('main td, main th, main dt, main dd, main .card')) {
    if (!visible(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name(el)} ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  if (checkTables) {
    for (const el of document.querySelectorAll('main .table-wrap')) {
      if (!visible(el)) continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        const table = name(el.querySelector('table') || el);
        found.push(`table scroller ${table} ${el.scrollWidth}>${el.clientWidth}`);
      }
    }
  }
  // Chart text: its font size scaled as the drawing is, at least 11 px on screen.
  for (const svg of document.querySelectorAll('main svg[data-view-width]')) {
    const scale = svg.getBoundingClientRect().width / Number(svg.dataset.viewWidth);
    const size = Number(svg.getAttribute('font-size')) * scale;
    if (size < 11) found.push(`chart ${svg.id} text ${size.toFixed(1)} px < 11 px`);
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) {
    found.push(`page ${page.scrollWidth}>${page.clientWidth}`);
  }
  return found;
}
"""


# The text a person reads in <main>, leaving out <code> elements: the webhook pages show
# each event's name and, marked as code, the type a developer's receiver matches on.
VISIBLE_TEXT_SCRIPT = """
() => {
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('code').forEach((el) => el.remove());
  main.style.position = 'absolute';
  document.body.appendChild(main);
  const text = main.innerText;
  main.remove();
  return text;
}
"""


def _detail_subscription(creator: Any) -> Any:
    """The page that clipped: long names, a cancellation, every kind of charge."""
    product = ProductFactory(creator=creator, name="Curso completo de fotografia de retrato")
    plan = PlanFactory(
        product=product,
        name="Plano semestral com mentoria",
        price=Decimal("1249.90"),
        period="semiannual",
    )
    subscriber = SubscriberFactory(
        creator=creator,
        email="maria.aparecida.fernandes.de.oliveira@exemplo-de-dominio-longo.com.br",
        name="Maria Aparecida Fernandes de Oliveira",
    )
    subscription = SubscriptionFactory(
        plan=plan, subscriber=subscriber, started_at=timezone.now() - timedelta(days=400)
    )
    for status, kind, message in (
        (Charge.Status.SUCCEEDED, Charge.Kind.FIRST, ""),
        (Charge.Status.DECLINED, Charge.Kind.RENEWAL, "Cartão recusado pelo emissor"),
        (Charge.Status.FAILED, Charge.Kind.RETRY, "Gateway timeout"),
        (Charge.Status.SUCCEEDED, Charge.Kind.RETRY, ""),
        (Charge.Status.REFUNDED, Charge.Kind.RENEWAL, ""),
        (Charge.Status.CHARGEBACK, Charge.Kind.REACTIVATION, ""),
    ):
        ChargeFactory(
            subscription=subscription,
            status=status,
            kind=kind,
            amount=Decimal("1249.90"),
            failure_message=message,
        )
    return subscription_cancel(
        subscription=subscription,
        actor=actor_for("customer"),
        reason="Achei caro demais para o momento; talvez volte no ano que vem",
    )


@pytest.fixture
def walk_site(transactional_db, app_settings, live_server):
    app_settings.BASE_URL = live_server.url
    creator = CreatorFactory(name="Estúdio de Fotografia Exemplo")
    owner = MembershipFactory(creator=creator, role=Role.OWNER).user
    owner.set_password(PASSWORD)
    owner.save()
    routes = dashboard_routes()
    cases = all_cases()
    urls: dict[str, str] = {}
    for name in sorted(routes):
        case = cases.get(name)
        # A route without a case fails test_every_dashboard_route_has_a_case.
        if case is None or "get" not in case.calls or case.calls["get"].ok != 200:
            continue
        built = case.build(creator, f"walk{len(urls)}")
        urls[name] = reverse(name, kwargs=built.kwargs)
    detail = _detail_subscription(creator)
    urls["dashboard:subscription_detail"] = reverse(
        "dashboard:subscription_detail", kwargs={"uuid": detail.uuid}
    )
    # HTML fragments loaded by htmx into another page are walked inside that page.
    fragments = {"dashboard:subscriptions_count", "dashboard:segmentation_row"}
    # CSV downloads are not pages.
    pages = {
        name: url
        for name, url in urls.items()
        if name not in fragments and not name.endswith("_export")
    }
    return owner, pages


@pytest.mark.parametrize("lang", LANGS)
def test_every_dashboard_page_shows_its_content_whole(page, walk_site, live_server, lang):
    owner, pages = walk_site
    base = live_server.url
    sign_in(page, base, owner.email, lang)
    problems: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            response = page.goto(base + url)
            assert response is not None and response.status == 200, (name, url)
            page.wait_for_load_state("networkidle")
            shot(page, f"walk-{name.split(':')[-1]}-{width}-{lang}")
            where = f"{name} at {width} px ({lang})"
            overflowing = page.evaluate(OVERFLOW_SCRIPT, width >= 1000)
            if overflowing:
                problems[where] = overflowing
            text = page.evaluate(VISIBLE_TEXT_SCRIPT)
            raw = sorted(set(RAW_CODE.findall(text)))
            if raw:
                problems.setdefault(where, []).append(f"raw codes visible: {raw}")
    assert not problems, "\n".join(f"{where}: {found}" for where, found in problems.items())
    assert len(pages) >= 18, sorted(pages)


@pytest.mark.parametrize("lang", LANGS)
def test_import_preview_and_result_pages(page, walk_site, live_server, tmp_path, lang):
    """The pages answering a POST (not in the walk above): the import's preview and
    result, checked the same way."""
    owner, _pages = walk_site
    creator = owner.memberships.get().creator
    plan = PlanFactory(product__creator=creator, name="Plano mensal")
    upload = tmp_path / "assinantes.csv"
    upload.write_text(
        "email;name;plan;started_at;payment_method\n"
        f"ana.beatriz.souza@example.com;Ana Beatriz;{plan.name};2025-03-10;pm_sandbox_ok\n"
        "sem-arroba;X;Plano mensal;2025-03-10;pm_sandbox_ok\n"
        f"bruno@example.com;Bruno;Plano inexistente;10/03/2025;tok_x\n",
        encoding="utf-8",
    )
    base = live_server.url
    sign_in(page, base, owner.email, lang)
    page.goto(f"{base}/subscriptions/import/")
    page.set_input_files("#id_file", str(upload))
    page.click("#import-preview")
    page.wait_for_selector("#import-summary")
    assert page.locator("[data-count='rows']").inner_text() == "1"
    assert page.locator("[data-count='errors']").inner_text() == "4"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"walk-import-preview-{width}-{lang}")
        assert page.evaluate(OVERFLOW_SCRIPT, width >= 1000) == []
    page.click("#import-confirm")
    page.wait_for_selector("#import-result")
    assert page.locator("[data-count='created']").inner_text() == "1"
    shot(page, f"walk-import-done-{lang}")
    assert page.evaluate(OVERFLOW_SCRIPT, False) == []
