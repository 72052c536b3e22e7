"""The Recovery page's chart and its table rows, in the reader's language."""

from __future__ import annotations

from babel.numbers import format_decimal, format_percent
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from dashboard.charts import babel_locale
from dashboard.recovery_figures import PAGE, WINDOW_DAYS, Outcomes
from dashboard.svg import horizontal_bars


def attempt_rows(outcomes: Outcomes) -> list[tuple[str, int]]:
    """(label, count): recovered at each retry in order, on the payment page, still
    late, lost. Every failed payment is in exactly one row."""
    retries = sorted(k for k in outcomes.by_attempt if isinstance(k, int))
    rows = [(_("Recovered at retry %(n)s") % {"n": n}, outcomes.by_attempt[n]) for n in retries]
    rows.append((_("Paid on the payment page"), outcomes.by_attempt.get(PAGE, 0)))
    rows.append((_("Still late"), outcomes.late))
    rows.append((_("Lost"), outcomes.lost))
    return rows


def recovery_chart(outcomes: Outcomes) -> SafeString:
    locale = babel_locale()
    rows = attempt_rows(outcomes)
    total = outcomes.failed or 1
    return horizontal_bars(
        chart_id="chart-recovery",
        title=_("Failed payments of the last %(days)s days, by outcome") % {"days": WINDOW_DAYS},
        desc=_(
            "One bar per outcome: recovered at each retry, on the payment page, still late, lost."
        )
        if outcomes.failed
        else _("No payment failed in this period."),
        rows=[
            (
                label,
                n,
                f"{format_decimal(n, locale=locale)} · "
                f"{format_percent(n / total, format='#,##0%', locale=locale)}",
            )
            for label, n in rows
        ],
    )
