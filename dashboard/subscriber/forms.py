from __future__ import annotations

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

    def reason_text(self) -> str:
        label = dict(CUSTOMER_CANCEL_REASONS)[self.cleaned_data["reason"]]
        details = self.cleaned_data["details"].strip()
        return f"{label}: {details}" if details else str(label)
