"""Payment recovery settings per product (SPEC §4.6): the list lives on the Settings
page; each product's policy has its own form."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dashboard.access import member_required, membership, tenant_object_get
from dashboard.forms import RecoveryPolicyForm
from subscriptions.models import Product
from subscriptions.policies import recovery_policy_for, recovery_policy_update


@member_required
def recovery_policy_edit(request: HttpRequest, uuid: UUID) -> HttpResponse:
    writing = request.method == "POST"
    product = tenant_object_get(request, Product.objects.all(), uuid, write=writing)
    policy = recovery_policy_for(product=product)
    status = 200
    if writing:
        form = RecoveryPolicyForm(request.POST)
        if form.is_valid():
            try:
                recovery_policy_update(
                    creator=membership(request).creator, product=product, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, _("Payment recovery of %(product)s saved.") % {"product": product.name}
                )
                return redirect("dashboard:recovery_policy", uuid=product.uuid)
        status = 400
    else:
        form = RecoveryPolicyForm(
            initial={
                "retry_schedule": ", ".join(str(d) for d in policy.retry_schedule or []),
                "final_action": policy.final_action,
                "access_while_retrying": policy.access_while_retrying,
                "send_payment_failed_email": policy.send_payment_failed_email,
                "payment_failed_message": policy.payment_failed_message,
            }
        )
    creator = membership(request).creator
    return render(
        request,
        "dashboard/recovery_policy.html",
        {
            "nav_section": "settings",
            "product": product,
            "form": form,
            "creator_schedule": ", ".join(str(d) for d in creator.retry_schedule),
            "can_write": membership(request).can_write,
        },
        status=status,
    )
