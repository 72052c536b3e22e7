"""Integrations: connect an email-marketing provider, check it, rename it, disconnect it.
Credentials are write-only: the page never renders a stored one."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import Conflict, DomainError
from dashboard.access import member_required, membership, require_write, tenant_object_get
from notifications.models import Integration, NewContactStatus
from notifications.providers import provider_class, provider_classes
from notifications.providers.base import PENDING
from notifications.providers.oauth import is_oauth
from notifications.selectors import integration_list
from notifications.services import (
    integration_create,
    integration_delete,
    integration_oauth_authorize_url,
    integration_oauth_complete,
    integration_update,
    integration_validate,
)

CREDENTIAL_LABELS = {
    "api_key": gettext_lazy("API key"),
    "api_url": gettext_lazy("API URL"),
    "client_id": gettext_lazy("Client ID"),
    "client_secret": gettext_lazy("Client secret"),
}
CREDENTIAL_HELP = {
    ("mailchimp", "api_key"): gettext_lazy("Ends with your data centre, e.g. …-us21."),
    ("activecampaign", "api_url"): gettext_lazy("e.g. https://ACCOUNT.api-us1.com"),
    ("rdstation", "client_id"): gettext_lazy(
        "From your app in RD Station's App Publisher (Apps → your app → Credentials)."
    ),
}
# Inputs that are not secrets (shown as typed).
PLAIN_FIELDS = {"api_url": forms.URLInput, "client_id": forms.TextInput}
# The signed `state` of the authorization flow lasts this long (seconds).
OAUTH_STATE_MAX_AGE = 600
OAUTH_STATE_SALT = "dashboard.integration-oauth"


def oauth_callback_url() -> str:
    """Our callback, which the creator registers in their provider app."""
    return settings.BASE_URL + reverse("dashboard:integration_oauth_callback")


CONSENT_HELP = gettext_lazy(
    "Applies when a rule adds someone to a list who is not there yet. Choose "
    "“Subscribed” only if your subscribers agreed to receive marketing email. Nobody who "
    "unsubscribed is ever subscribed again, and tags never subscribe anyone."
)
CONSENT_HELP_PENDING = gettext_lazy("“Pending” asks them to confirm by email first.")


def _provider_choices() -> list[tuple[str, str]]:
    return sorted(
        ((name, cls.label) for name, cls in provider_classes().items()), key=lambda c: c[1]
    )


class IntegrationConnectForm(forms.Form):
    provider = forms.ChoiceField(label=gettext_lazy("Provider"))
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)

    def __init__(self, *args: object, provider: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = _provider_choices()
        field: forms.ChoiceField = self.fields["provider"]  # type: ignore[assignment]
        field.choices = choices
        self.chosen_provider = provider if provider in dict(choices) else choices[0][0]
        cls = provider_class(self.chosen_provider)
        # Where the provider sends the creator back after they grant access (OAuth).
        self.oauth_callback = oauth_callback_url() if is_oauth(cls) else ""
        # One write-only input per credential the chosen provider needs.
        for name in cls.credential_fields:
            plain = PLAIN_FIELDS.get(name)
            self.fields[f"cred_{name}"] = forms.CharField(
                label=CREDENTIAL_LABELS.get(name, name),
                help_text=CREDENTIAL_HELP.get((self.chosen_provider, name), ""),
                max_length=500,
                widget=plain()
                if plain
                else forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            )

        # The status of new contacts, among those the provider has.
        offered = provider_class(self.chosen_provider).contact_statuses
        self.fields["new_contact_status"] = forms.ChoiceField(
            label=gettext_lazy("New contacts join as"),
            choices=[(value, NewContactStatus(value).label) for value in offered],
            initial=offered[0],
            required=False,  # left out: the provider's first (subscribed)
            help_text=format_lazy("{} {}", CONSENT_HELP, CONSENT_HELP_PENDING)
            if PENDING in offered
            else CONSENT_HELP,
        )

    def credential_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("cred_")]

    def credentials(self) -> dict[str, str]:
        return {
            name[len("cred_") :]: value.strip()
            for name, value in self.cleaned_data.items()
            if name.startswith("cred_")
        }


class IntegrationRenameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=200)


def _list_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    creator = membership(request).creator
    integrations = list(integration_list(creator=creator))
    classes = provider_classes()
    for integration in integrations:
        # The statuses this provider offers, for the "new contacts" selector.
        cls = classes.get(integration.provider)
        integration.status_choices = [  # type: ignore[attr-defined]
            (value, NewContactStatus(value).label)
            for value in (cls.contact_statuses if cls else ())
        ]
    return render(
        request,
        "dashboard/integrations/list.html",
        {
            "nav_section": "integrations",
            "integrations": integrations,
            "labels": dict(_provider_choices()),
            "oauth_providers": {n for n, c in provider_classes().items() if is_oauth(c)},
            "consent_help": format_lazy("{} {}", CONSENT_HELP, CONSENT_HELP_PENDING),
            "error": error,
        },
        status=status,
    )


@member_required
def integration_list_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@member_required
def integration_connect(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        require_write(request)
        form = IntegrationConnectForm(request.POST, provider=request.POST.get("provider", ""))
        if form.is_valid():
            try:
                integration = integration_create(
                    creator=membership(request).creator,
                    provider=form.chosen_provider,
                    name=form.cleaned_data["name"],
                    credentials=form.credentials(),
                    new_contact_status=form.cleaned_data["new_contact_status"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if form.oauth_callback:
                    # The provider's consent page comes next; its answer lands on
                    # integration_oauth_callback.
                    return _authorize_redirect(request, integration)
                if integration.status == Integration.Status.CONNECTED:
                    messages.success(
                        request, _("Connected to %(name)s.") % {"name": integration.name}
                    )
                elif integration.status == Integration.Status.UNCHECKED:
                    messages.warning(
                        request,
                        _("Saved, but we could not reach the provider to check it: %(error)s")
                        % {"error": integration.last_error},
                    )
                else:
                    messages.error(
                        request,
                        _("Saved, but the check failed: %(error)s")
                        % {"error": integration.last_error},
                    )
                return redirect("dashboard:integrations")
        status = 400
    else:
        form = IntegrationConnectForm(provider=request.GET.get("provider", ""))
        status = 200
    template = (
        "dashboard/integrations/_credential_fields.html"
        if request.headers.get("HX-Request") and request.method == "GET"
        else "dashboard/integrations/connect.html"
    )
    return render(
        request,
        template,
        {"nav_section": "integrations", "form": form, "can_write": membership(request).can_write},
        status=status,
    )


@require_POST
@member_required
def integration_validate_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    integration = tenant_object_get(request, Integration.objects.all(), uuid, write=True)
    integration = integration_validate(integration=integration)
    if integration.status == Integration.Status.CONNECTED:
        messages.success(request, _("%(name)s is connected.") % {"name": integration.name})
    else:
        messages.error(
            request,
            _("%(name)s: %(error)s") % {"name": integration.name, "error": integration.last_error},
        )
    return redirect("dashboard:integrations")


@require_POST
@member_required
def integration_rename(request: HttpRequest, uuid: UUID) -> HttpResponse:
    integration = tenant_object_get(request, Integration.objects.all(), uuid, write=True)
    form = IntegrationRenameForm(request.POST)
    if not form.is_valid():
        return _list_page(request, error=_("Give the integration a name."), status=400)
    try:
        integration_update(integration=integration, name=form.cleaned_data["name"])
    except DomainError:
        return _list_page(request, error=_("Give the integration a name."), status=400)
    messages.success(request, _("Renamed."))
    return redirect("dashboard:integrations")


@require_POST
@member_required
def integration_contact_status(request: HttpRequest, uuid: UUID) -> HttpResponse:
    integration = tenant_object_get(request, Integration.objects.all(), uuid, write=True)
    try:
        integration_update(
            integration=integration,
            new_contact_status=request.POST.get("new_contact_status", "").strip() or None,
        )
    except DomainError:
        return _list_page(
            request, error=_("Choose one of the statuses this provider offers."), status=400
        )
    messages.success(
        request,
        _("New contacts of %(name)s now join as: %(status)s.")
        % {
            "name": integration.name,
            "status": NewContactStatus(integration.new_contact_status).label,
        },
    )
    return redirect("dashboard:integrations")


@require_POST
@member_required
def integration_disconnect(request: HttpRequest, uuid: UUID) -> HttpResponse:
    integration = tenant_object_get(request, Integration.objects.all(), uuid, write=True)
    try:
        integration_delete(integration=integration)
    except Conflict as exc:
        reasons = "; ".join(exc.details.get("in_use_by", []))
        return _list_page(
            request,
            error=_(
                "%(name)s is in use and was not disconnected (%(reasons)s). Remove it there first."
            )
            % {"name": integration.name, "reasons": reasons},
            status=409,
        )
    messages.success(request, _("%(name)s was disconnected.") % {"name": integration.name})
    return redirect("dashboard:integrations")


def _authorize_redirect(request: HttpRequest, integration: Integration) -> HttpResponse:
    state = signing.dumps({"i": str(integration.uuid), "u": request.user.pk}, salt=OAUTH_STATE_SALT)
    try:
        url = integration_oauth_authorize_url(
            integration=integration, redirect_uri=oauth_callback_url(), state=state
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:integrations")
    return redirect(url)


@require_POST
@member_required
def integration_authorize(request: HttpRequest, uuid: UUID) -> HttpResponse:
    """Send the creator to the provider's consent page (again, e.g. after a refused
    token renewal)."""
    integration = tenant_object_get(request, Integration.objects.all(), uuid, write=True)
    return _authorize_redirect(request, integration)


@member_required
def integration_oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the creator back with `code` and our signed `state`.

    The state names the integration and the member who started the flow, and expires
    after OAUTH_STATE_MAX_AGE: a forged, stale or someone else's state changes nothing.
    """
    try:
        state = signing.loads(
            request.GET.get("state", ""), salt=OAUTH_STATE_SALT, max_age=OAUTH_STATE_MAX_AGE
        )
        integration_uuid = UUID(str(state["i"]))
        if state["u"] != request.user.pk:
            raise signing.BadSignature
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        messages.error(
            request,
            _("That authorization link is not valid or has expired. Choose “Authorize” again."),
        )
        return redirect("dashboard:integrations")
    integration = tenant_object_get(
        request, Integration.objects.all(), integration_uuid, write=True
    )
    code = request.GET.get("code", "").strip()
    if not code:
        messages.error(
            request,
            _("%(name)s was not authorized (%(error)s). Choose “Authorize” to try again.")
            % {"name": integration.name, "error": request.GET.get("error", "")[:100] or "—"},
        )
        return redirect("dashboard:integrations")
    integration = integration_oauth_complete(
        integration=integration, code=code[:2000], redirect_uri=oauth_callback_url()
    )
    if integration.status == Integration.Status.CONNECTED:
        messages.success(request, _("Connected to %(name)s.") % {"name": integration.name})
    else:
        messages.error(
            request,
            _("%(name)s: %(error)s") % {"name": integration.name, "error": integration.last_error},
        )
    return redirect("dashboard:integrations")
