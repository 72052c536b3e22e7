from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

CUSTOMER_CANCEL_REASONS = [
    ("too_expensive", _("It is too expensive")),
    ("not_using", _("I am not using it")),
    ("content", _("The content is not what I expected")),
    ("technical", _("Technical problems")),
    ("other", _("Another reason")),
]


class SignInRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class CustomerCancelForm(forms.Form):
    """The reasons are the product's own when it has any (subscriptions/retention.py),
    with "Another reason" last; else the standard list."""

    reason = forms.ChoiceField(
        label=_("Why are you cancelling?"),
        choices=CUSTOMER_CANCEL_REASONS,
        widget=forms.RadioSelect,
    )
    details = forms.CharField(
        label=_("Anything else you want to tell us? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, reasons: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices: list[tuple[str, Any]] = (
            [(f"r{i}", text) for i, text in enumerate(reasons, 1)] + CUSTOMER_CANCEL_REASONS[-1:]
            if reasons
            else list(CUSTOMER_CANCEL_REASONS)
        )
        self.fields["reason"].choices = self.choices  # type: ignore[attr-defined]

    def reason_text(self) -> str:
        label = dict(self.choices)[self.cleaned_data["reason"]]
        details = self.cleaned_data["details"].strip()
        return f"{label}: {details}" if details else str(label)
