"""What reactivating a subscription means (SPEC §6.1): the billing outcome of an accepted
reactivation as a pure function, and who may be asked (an allow-list per status)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from subscriptions.billing import PERIODS, due_date
from subscriptions.reactivation_rules import reactivation_outcome

ANCHOR = date(2026, 3, 10)  # billing day 10
PAID_THROUGH = date(2026, 5, 10)  # cancelled April 15, the April 10 period was paid


def test_seed_accepted_april_20_is_the_same_cycle_and_keeps_may_10():
    for mode in ("reactivate", "reactivate_and_charge"):
        outcome = reactivation_outcome(
            mode=mode,
            paid_through=PAID_THROUGH,
            anchor=ANCHOR,
            period="monthly",
            accepted_on=date(2026, 4, 20),
        )
        assert outcome.same_cycle
        assert outcome.billing_anchor == ANCHOR
        assert outcome.next_charge_date == date(2026, 5, 10)
        assert outcome.paid_through == date(2026, 5, 10)
        assert not outcome.charge_today


def test_seed_reactivated_may_20_without_charge_next_charge_june_20():
    outcome = reactivation_outcome(
        mode="reactivate",
        paid_through=PAID_THROUGH,
        anchor=ANCHOR,
        period="monthly",
        accepted_on=date(2026, 5, 20),
    )
    assert not outcome.same_cycle
    assert outcome.billing_anchor == date(2026, 5, 20)
    assert outcome.next_charge_date == outcome.paid_through == date(2026, 6, 20)
    assert not outcome.charge_today
    assert outcome.charge_period_start is None


def test_seed_reactivated_and_charged_may_20_next_charge_june_20():
    outcome = reactivation_outcome(
        mode="reactivate_and_charge",
        paid_through=PAID_THROUGH,
        anchor=ANCHOR,
        period="monthly",
        accepted_on=date(2026, 5, 20),
    )
    assert not outcome.same_cycle
    assert outcome.charge_today
    assert (outcome.charge_period_start, outcome.charge_period_end) == (
        date(2026, 5, 20),
        date(2026, 6, 20),
    )
    assert outcome.billing_anchor == date(2026, 5, 20)
    assert outcome.next_charge_date == outcome.paid_through == date(2026, 6, 20)


def test_accepting_on_paid_through_itself_is_outside_the_cycle():
    outcome = reactivation_outcome(
        mode="reactivate",
        paid_through=PAID_THROUGH,
        anchor=ANCHOR,
        period="monthly",
        accepted_on=PAID_THROUGH,
    )
    assert not outcome.same_cycle
    assert outcome.next_charge_date == date(2026, 6, 10)


def test_never_paid_is_outside_the_cycle_and_month_end_clamps():
    outcome = reactivation_outcome(
        mode="reactivate_and_charge",
        paid_through=None,
        anchor=ANCHOR,
        period="monthly",
        accepted_on=date(2026, 1, 31),
    )
    assert outcome.charge_today and outcome.next_charge_date == date(2026, 2, 28)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
modes = st.sampled_from(["reactivate", "reactivate_and_charge"])
periods = st.sampled_from(PERIODS)


@given(
    mode=modes,
    period=periods,
    anchor=days,
    paid_periods=st.integers(0, 40),
    offset=st.integers(-800, 800),
)
def test_properties(mode, period, anchor, paid_periods, offset):
    paid_through = due_date(anchor, period, paid_periods)
    accepted_on = paid_through + timedelta(days=offset)
    outcome = reactivation_outcome(
        mode=mode, paid_through=paid_through, anchor=anchor, period=period, accepted_on=accepted_on
    )
    # Same cycle ⇔ R < paid_through.
    assert outcome.same_cycle == (accepted_on < paid_through)
    if outcome.same_cycle:
        assert outcome.billing_anchor == anchor
        assert outcome.next_charge_date == paid_through
        assert not outcome.charge_today
    else:
        # Outside the cycle the anchor becomes R and the next charge is one period on.
        assert outcome.billing_anchor == accepted_on
        assert outcome.next_charge_date == outcome.paid_through == due_date(accepted_on, period, 1)
        assert outcome.next_charge_date > accepted_on
    # Reactivate-and-charge charges exactly once, on R, only outside the cycle; reactivate never.
    charged = [outcome.charge_period_start] if outcome.charge_today else []
    if mode == "reactivate_and_charge" and not outcome.same_cycle:
        assert charged == [accepted_on]
        assert outcome.charge_period_end == outcome.next_charge_date
    else:
        assert charged == []


# --- eligibility: an allow-list, one decision per status ---------------------------


def test_every_status_has_an_explicit_eligibility_decision():
    from subscriptions.models import Status
    from subscriptions.reactivation_rules import ELIGIBILITY

    assert set(ELIGIBILITY) == set(Status), "a status without a reactivation decision"


def test_only_customer_and_seller_cancellations_are_eligible_and_admin_ones_for_support():
    from subscriptions.models import Status
    from subscriptions.reactivation_rules import ELIGIBILITY

    eligible = {s for s, d in ELIGIBILITY.items() if d.refusal is None}
    support_only = {s for s, d in ELIGIBILITY.items() if d.support_only}
    assert eligible == {Status.CANCELLED_BY_CUSTOMER, Status.CANCELLED_BY_SELLER}
    assert support_only == {Status.CANCELLED_BY_ADMIN}


def test_each_refusal_has_one_code_and_one_text_in_both_languages():
    from django.utils import translation

    from subscriptions.reactivation_rules import REFUSALS

    assert len({r.code for r in REFUSALS}) == len(REFUSALS)
    for refusal in REFUSALS:
        with translation.override("en"):
            english = refusal.message
        with translation.override("pt-br"):
            portuguese = refusal.message
        assert english and portuguese != english, refusal.code


def test_modes_are_defined_once_with_their_labels():
    from reactivation.models import ReactivationRequest
    from segmentation.conditions import REACTIVATION_MODES
    from subscriptions.reactivation_rules import ReactivationMode

    assert REACTIVATION_MODES == ("reactivate", "reactivate_and_charge")
    field = ReactivationRequest._meta.get_field("mode")
    assert list(field.choices) == list(ReactivationMode.choices)  # type: ignore[arg-type]
