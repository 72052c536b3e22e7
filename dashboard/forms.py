from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_name
from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.currencies import active_currencies
from accounts.models import Creator, Role, validate_retry_schedule
from accounts.time_zones import time_zone_choices
from dashboard.selectors import SORTS, SubscriptionFilters
from subscriptions.models import (
    CancellationSource,
    Coupon,
    Plan,
    Product,
    RecoveryPolicy,
    Status,
)
from subscriptions.pause_rules import MAX_PAUSE_PERIODS, PauseWhen, ResumeHow


class SubscriptionFilterForm(forms.Form):
    """GET filters of the subscriptions table; bad values are dropped, never a 500."""

    status = forms.MultipleChoiceField(
        label=_("Status"),
        choices=Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # Plain choice fields: the tenant's products and plans are passed in, already fetched.
    product = forms.ChoiceField(label=_("Product"), required=False)
    plan = forms.ChoiceField(label=_("Plan"), required=False)
    cancellation_source = forms.ChoiceField(
        label=_("Cancelled by"),
        choices=[("", _("Anyone")), *CancellationSource.choices],
        required=False,
    )
    email = forms.CharField(label=_("Email contains"), max_length=200, required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        choices=[
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("next_charge", _("Next charge, soonest first")),
            ("-next_charge", _("Next charge, latest first")),
            ("paid_through", _("Paid through, earliest first")),
            ("-paid_through", _("Paid through, latest first")),
            ("email", _("Email, A to Z")),
            ("-email", _("Email, Z to A")),
        ],
        required=False,
    )

    def __init__(
        self, *args: Any, products: list[Product], plans: list[Plan], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        product_field: Any = self.fields["product"]
        plan_field: Any = self.fields["plan"]
        product_field.choices = [("", _("All products"))] + [
            (str(p.uuid), p.name) for p in products
        ]
        plan_field.choices = [("", _("All plans"))] + [(str(p.uuid), str(p)) for p in plans]
        self._products = {str(p.uuid): p for p in products}
        self._plans = {str(p.uuid): p for p in plans}

    def clean_product(self) -> Product | None:
        return self._products.get(self.cleaned_data.get("product") or "")

    def clean_plan(self) -> Plan | None:
        return self._plans.get(self.cleaned_data.get("plan") or "")

    def filters(self) -> SubscriptionFilters:
        # An invalid field is left out of cleaned_data; the valid ones still filter.
        self.is_valid()
        data = self.cleaned_data
        statuses = data.get("status") or []
        return SubscriptionFilters(
            statuses=tuple(statuses),
            product=data.get("product"),
            plan=data.get("plan"),
            cancellation_source=data.get("cancellation_source") or "",
            email=(data.get("email") or "").strip(),
        )

    def sort_key(self) -> str:
        self.is_valid()
        value = self.cleaned_data.get("sort")
        return value if value in SORTS else "-created"


CANCEL_REASONS = [
    ("", _("Choose a reason")),
    ("customer_request", _("The customer asked for it")),
    ("payment_problem", _("Payment problem")),
    ("fraud", _("Suspected fraud")),
    ("other", _("Other")),
]


class SellerCancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=CANCEL_REASONS)
    details = forms.CharField(
        label=_("Details (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def reason_text(self) -> str:
        label = dict(CANCEL_REASONS)[self.cleaned_data["reason"]]
        details = self.cleaned_data["details"].strip()
        return f"{label}: {details}" if details else str(label)


class PauseForm(forms.Form):
    """The creator's pause (subscriptions/pause_rules.py): when, and for how long."""

    LENGTHS = [
        ("periods", _("For a number of periods")),
        ("until", _("Until a date")),
        ("open", _("Until I resume it")),
    ]

    when = forms.ChoiceField(
        label=_("Pause"), choices=PauseWhen.choices, initial=PauseWhen.NOW, widget=forms.RadioSelect
    )
    length = forms.ChoiceField(
        label=_("For how long"), choices=LENGTHS, initial="periods", widget=forms.RadioSelect
    )
    periods = forms.IntegerField(
        label=_("Periods"),
        help_text=_("Renewals skipped; it resumes on the billing day after them."),
        min_value=1,
        max_value=MAX_PAUSE_PERIODS,
        initial=1,
        required=False,
    )
    until = forms.DateField(
        label=_("Resume on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        length = data.get("length")
        if length == "periods" and data.get("periods") is None:
            self.add_error("periods", _("Say for how many periods."))
        if length == "until" and data.get("until") is None:
            self.add_error("until", _("Choose the date it resumes on."))
        return data

    def pause_length(self) -> dict[str, Any]:
        length = self.cleaned_data["length"]
        return {
            "periods": self.cleaned_data["periods"] if length == "periods" else None,
            "until": self.cleaned_data["until"] if length == "until" else None,
        }


class ResumeForm(forms.Form):
    how = forms.ChoiceField(
        label=_("When the paid period is over"),
        choices=ResumeHow.choices,
        initial=ResumeHow.NEW_PERIOD,
        widget=forms.RadioSelect,
    )


class CouponForm(forms.Form):
    """A new coupon (subscriptions/coupons.py); the service checks the terms again."""

    code = forms.RegexField(
        label=_("Code"),
        regex=r"^[A-Za-z0-9_-]{1,40}$",
        max_length=40,
        help_text=_("Letters, digits, - and _; subscribers may type it in any case."),
    )
    kind = forms.ChoiceField(label=_("Discount"), choices=Coupon.Kind.choices)
    value = forms.DecimalField(
        label=_("Percent or amount off"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )
    currency = forms.CharField(label=_("Currency of an amount off"), max_length=3, required=False)
    duration = forms.ChoiceField(label=_("For"), choices=Coupon.Duration.choices)
    duration_periods = forms.IntegerField(
        label=_("Number of periods"), min_value=1, max_value=120, required=False
    )
    max_redemptions = forms.IntegerField(
        label=_("At most, redemptions"), min_value=1, required=False
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    plans = forms.ModelMultipleChoiceField(
        label=_("Only for these plans"),
        queryset=Plan.objects.none(),
        required=False,
        help_text=_("None chosen: every plan."),
    )

    def __init__(self, *args: Any, creator: Creator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plans"].queryset = Plan.objects.filter(  # type: ignore[attr-defined]
            creator=creator, is_active=True
        ).select_related("product")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["plans"] = list(data.get("plans") or [])
        data["currency"] = (data.get("currency") or "").upper()
        return data


class TeamInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class TeamRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MANAGER)

    def __init__(self, *args: Any, allowed_roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field: Any = self.fields["role"]
        role_field.choices = [(v, label) for v, label in Role.choices if v in allowed_roles]


# Offered first in the currency list, after the creator's own.
LIKELY_CURRENCIES = {"pt-BR": ("BRL", "USD", "EUR"), "en": ("USD", "EUR", "GBP", "BRL")}


def currency_choices(*, current: str, locale: str, language: str) -> list[Any]:
    """Active ISO 4217 currencies (the set the API accepts), "BRL — Brazilian real",
    the creator's likely ones first."""
    babel_locale = language.replace("-", "_")

    def label(code: str) -> str:
        try:
            return f"{code} — {get_currency_name(code, locale=babel_locale)}"
        except ValueError:
            return code

    active = active_currencies()
    likely = [c for c in dict.fromkeys((current, *LIKELY_CURRENCIES.get(locale, ()))) if c]
    return [
        (str(_("Suggested")), [(c, label(c)) for c in likely]),
        (str(_("All currencies")), [(c, label(c)) for c in sorted(active) if c not in likely]),
    ]


class CreatorSettingsForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Time zone"))
    locale = forms.ChoiceField(
        label=_("Language of emails to subscribers"),
        choices=Creator.Locale.choices,
        help_text=_(
            "The default for subscribers whose language is not known: a subscriber created "
            "without one (through the API or an import) gets this language. Subscribers "
            "whose language is known always get their own."
        ),
    )
    currency = forms.ChoiceField(label=_("Currency"))
    retry_schedule = forms.CharField(
        label=_("Retry schedule"),
        help_text=_(
            "Days after a failed due date on which the charge is tried again, e.g. 1, 3, 5."
        ),
        max_length=100,
    )

    def __init__(self, *args: Any, creator: Creator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = get_language() or "en"
        zone_field: Any = self.fields["time_zone"]
        zone_field.choices = time_zone_choices(
            current=creator.time_zone, locale=creator.locale, language=language
        )
        currency_field: Any = self.fields["currency"]
        currency_field.choices = currency_choices(
            current=creator.currency, locale=creator.locale, language=language
        )

    def clean_retry_schedule(self) -> list[int]:
        raw = self.cleaned_data["retry_schedule"]
        try:
            days = [int(part) for part in raw.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise ValidationError(
                _("Use whole numbers separated by commas, e.g. 1, 3, 5.")
            ) from None
        validate_retry_schedule(days)
        return days


def _parse_retry_days(raw: str) -> list[int]:
    try:
        days = [int(part) for part in raw.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise ValidationError(_("Use whole numbers separated by commas, e.g. 1, 3, 5.")) from None
    if days:
        validate_retry_schedule(days)
    return days


class RecoveryPolicyForm(forms.Form):
    """A product's payment recovery (SPEC §4.6)."""

    retry_schedule = forms.CharField(
        label=_("Retry schedule"),
        help_text=_(
            "Days after a failed due date on which the charge is tried again, e.g. 1, 3, 5. "
            "Empty: the schedule of the Settings page."
        ),
        max_length=100,
        required=False,
    )
    final_action = forms.ChoiceField(
        label=_("After the last retry"), choices=RecoveryPolicy.FinalAction.choices
    )
    access_while_retrying = forms.BooleanField(
        label=_("Keep access while retrying"),
        help_text=_("Sent to your webhooks and rules with the “payment late” status change."),
        required=False,
    )
    send_payment_failed_email = forms.BooleanField(
        label=_("Email the subscriber when a payment fails, with a link to pay"),
        required=False,
    )
    payment_failed_message = forms.CharField(
        label=_("Your wording for that email"),
        help_text=_(
            "Replaces the first paragraph. The amount, the next attempt and the payment "
            "link always follow. Empty: the standard text, in the subscriber's language."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )

    renewal_reminder_days = forms.IntegerField(
        label=_("Remind subscribers of a renewal, days before"),
        help_text=_(
            "Empty: 7 days before for yearly plans, no reminder for shorter ones. "
            "0: never. A number: for every plan whose period is longer than that."
        ),
        min_value=0,
        max_value=60,
        required=False,
    )
    send_card_expiring_email = forms.BooleanField(
        label=_(
            "Email the subscriber the month before the card expires, with a link to replace it"
        ),
        help_text=_("Only for cards whose expiry the payment processor reports (Stripe)."),
        required=False,
    )

    pause_access = forms.ChoiceField(
        label=_("Access while paused"),
        choices=RecoveryPolicy.PauseAccess.choices,
        help_text=_("Sent to your webhooks and rules with the “paused” status change."),
        required=False,
    )
    subscribers_can_pause = forms.BooleanField(
        label=_("Subscribers can pause from their page"), required=False
    )
    max_pause_periods = forms.IntegerField(
        label=_("Longest pause a subscriber can choose, in periods"),
        min_value=1,
        max_value=12,
        required=False,
    )

    subscribers_can_switch_plans = forms.BooleanField(
        label=_("Subscribers can switch to another plan of this product, from their page"),
        help_text=_(
            "A dearer plan of the same period starts at once, the difference for the days "
            "left charged to their saved card; any other plan from the next renewal."
        ),
        required=False,
    )
    subscribers_can_change_billing_day = forms.BooleanField(
        label=_("Subscribers can change the day they are charged, from their page"),
        help_text=_("Once a period, to a day from 1 to 28; the days moved are prorated."),
        required=False,
    )
    cancel_reasons = forms.CharField(
        label=_("Reasons to cancel offered to subscribers"),
        help_text=_(
            "One per line, up to 12; “Another reason” and a free-text box always follow. "
            "Empty: the standard list."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )
    retention_offer = forms.ChoiceField(
        label=_("Offer before cancelling"),
        choices=RecoveryPolicy.RetentionOffer.choices,
        help_text=_(
            "Shown once, after the reason, to an active subscription that never took an "
            "offer. The overview shows how often each offer keeps a subscriber."
        ),
        required=False,
    )
    retention_pause_periods = forms.IntegerField(
        label=_("Periods of the offered pause"), min_value=1, max_value=12, required=False
    )
    retention_plan = forms.ModelChoiceField(
        label=_("Offered plan"),
        queryset=Plan.objects.none(),
        to_field_name="uuid",
        help_text=_("A cheaper plan of this product in the same currency, from the next renewal."),
        required=False,
    )

    retention_coupon = forms.ModelChoiceField(
        label=_("Offered coupon"),
        queryset=Coupon.objects.none(),
        to_field_name="uuid",
        help_text=_("One of your active coupons (Coupons page), from the next renewal."),
        required=False,
    )

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if product is not None:
            self.fields["retention_coupon"].queryset = Coupon.objects.filter(  # type: ignore[attr-defined]
                creator_id=product.creator_id, is_active=True
            )
            self.fields["retention_plan"].queryset = Plan.objects.filter(  # type: ignore[attr-defined]
                creator_id=product.creator_id, product=product, is_active=True
            ).order_by("price", "name")

    def clean_retention_pause_periods(self) -> int:
        value = self.cleaned_data["retention_pause_periods"]
        return 1 if value is None else value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        offer = data.get("retention_offer")
        if offer == RecoveryPolicy.RetentionOffer.DOWNGRADE and not data.get("retention_plan"):
            self.add_error("retention_plan", _("Choose the cheaper plan to offer."))
        if offer == RecoveryPolicy.RetentionOffer.COUPON and not data.get("retention_coupon"):
            self.add_error("retention_coupon", _("Choose the coupon to offer."))
        return data

    def clean_pause_access(self) -> str:
        return self.cleaned_data["pause_access"] or RecoveryPolicy.PauseAccess.PAID_THROUGH

    def clean_max_pause_periods(self) -> int:
        value = self.cleaned_data["max_pause_periods"]
        return 3 if value is None else value

    def clean_retry_schedule(self) -> list[int]:
        return _parse_retry_days(self.cleaned_data["retry_schedule"])


class GatewayForm(forms.Form):
    """The payment gateway and its secrets (write-only: left empty, the saved one stays)."""

    gateway = forms.ChoiceField(label=_("Payment gateway"), choices=Creator.Gateway.choices)
    secret_key = forms.CharField(
        label=_("Stripe secret key"),
        help_text=_("sk_test_… or sk_live_… (or a restricted rk_… key). Write-only."),
        required=False,
        max_length=300,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    webhook_secret = forms.CharField(
        label=_("Stripe webhook signing secret"),
        help_text=_("whsec_… Write-only. Stripe's webhooks are refused until it is set."),
        required=False,
        max_length=300,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's "Forgot password" form, also for invited members who never set one.

    Django skips accounts without a usable password (meant for accounts that must not
    sign in with one); ours have none only because the invitation was never finished,
    and the reset link is exactly the invitation's set-password link. The answer is the
    same whether the address is known or not (Django's view)."""

    def get_users(self, email: str) -> Iterator[Any]:
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (u for u in users if u.email.casefold() == email.casefold())
