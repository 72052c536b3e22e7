from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Creator, Role
from core.errors import DomainError
from dashboard.access import member_required, membership, require_owner
from dashboard.forms import CreatorSettingsForm, GatewayForm
from dashboard.services import creator_settings_update
from subscriptions.gateways.configure import creator_gateway_configure, creator_gateway_status
from subscriptions.policies import products_with_recovery_policy


def _gateway_error_text(exc: DomainError) -> str:
    """The gateway service speaks English; its fixed sentences are shown translated."""
    known = {
        "Enter a Stripe secret key (sk_test_… or sk_live_…, or a restricted rk_… key).": _(
            "Enter a Stripe secret key (sk_test_… or sk_live_…, or a restricted rk_… key)."
        ),
        "The webhook signing secret starts with whsec_.": _(
            "The webhook signing secret starts with whsec_."
        ),
        "Stripe could not be reached to check the key; nothing was saved. Try again.": _(
            "Stripe could not be reached to check the key; nothing was saved. Try again."
        ),
    }
    if exc.message in known:
        return known[exc.message]
    prefix = "Stripe refused this key: "
    if exc.message.startswith(prefix):
        return _("Stripe refused this key: %(reason)s") % {"reason": exc.message[len(prefix) :]}
    return exc.message


def _page(
    request: HttpRequest,
    *,
    form: CreatorSettingsForm | None = None,
    gateway_form: GatewayForm | None = None,
    status: int = 200,
) -> HttpResponse:
    current = membership(request)
    creator: Creator = current.creator
    if form is None:
        form = CreatorSettingsForm(
            creator=creator,
            initial={
                "time_zone": creator.time_zone,
                "locale": creator.locale,
                "currency": creator.currency,
                "retry_schedule": ", ".join(str(d) for d in creator.retry_schedule),
            },
        )
    if gateway_form is None:
        gateway_form = GatewayForm(initial={"gateway": creator.gateway})
    credentials: dict[str, Any] = creator.gateway_credentials or {}
    return render(
        request,
        "dashboard/settings.html",
        {
            "nav_section": "settings",
            "form": form,
            "gateway_form": gateway_form,
            "gateway_status": creator_gateway_status(creator=creator),
            "is_owner": current.role == Role.OWNER,
            "can_write": current.can_write,
            "has_gateway_key": bool(credentials.get("secret_key")),
            "has_webhook_secret": bool(credentials.get("webhook_secret")),
            "recovery_products": list(products_with_recovery_policy(creator=creator)),
        },
        status=status,
    )


@member_required
def creator_settings(request: HttpRequest) -> HttpResponse:
    current = membership(request)
    if request.method == "POST":
        require_owner(request)
        form = CreatorSettingsForm(request.POST, creator=current.creator)
        if form.is_valid():
            creator_settings_update(creator=current.creator, **form.cleaned_data)
            messages.success(request, _("Settings saved."))
            return redirect("dashboard:settings")
        return _page(request, form=form, status=400)
    return _page(request)


@require_POST
@member_required
def gateway_settings(request: HttpRequest) -> HttpResponse:
    """Choose the gateway and store its secrets through the gateway's own service, which
    checks a Stripe key with Stripe before saving. Empty secret fields keep the saved ones."""
    require_owner(request)
    creator: Creator = membership(request).creator
    form = GatewayForm(request.POST)
    if not form.is_valid():
        return _page(request, gateway_form=form, status=400)
    gateway = form.cleaned_data["gateway"]
    saved: dict[str, Any] = creator.gateway_credentials or {}
    keep = creator.gateway == gateway
    credentials = {
        "secret_key": form.cleaned_data["secret_key"].strip()
        or (saved.get("secret_key", "") if keep else ""),
        "webhook_secret": form.cleaned_data["webhook_secret"].strip()
        or (saved.get("webhook_secret", "") if keep else ""),
    }
    try:
        status = creator_gateway_configure(
            creator=creator, gateway=gateway, credentials=credentials
        )
    except DomainError as exc:
        field = exc.details.get("field")
        form.add_error(field if field in form.fields else None, _gateway_error_text(exc))
        return _page(request, gateway_form=form, status=400)
    if status.mode:
        messages.success(
            request,
            _("Payment gateway saved (%(mode)s mode).")
            % {"mode": _("live") if status.is_live else _("test")},
        )
    else:
        messages.success(request, _("Payment gateway saved."))
    return redirect("dashboard:settings")
