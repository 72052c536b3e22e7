"""Coupons in the dashboard (subscriptions/coupons.py): the list with what each takes
off and how often it was used, a form to create one, and switching one off."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from dashboard.access import member_required, membership, require_write, tenant_object_get
from dashboard.forms import CouponForm
from subscriptions.coupons import coupon_create, coupon_deactivate
from subscriptions.models import Coupon


@member_required
def coupons(request: HttpRequest) -> HttpResponse:
    creator = membership(request).creator
    form = CouponForm(creator=creator)
    status = 200
    if request.method == "POST":
        require_write(request)
        form = CouponForm(request.POST, creator=creator)
        if form.is_valid():
            try:
                coupon = coupon_create(creator=creator, **form.cleaned_data)
            except DomainError as exc:
                for field, errors in exc.details.items():
                    form.add_error(field if field in form.fields else None, errors)
                if not exc.details:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, _("Coupon %(code)s created.") % {"code": coupon.code})
                return redirect("dashboard:coupons")
        status = 400
    rows = (
        Coupon.objects.filter(creator=creator)
        .prefetch_related("plans")
        .order_by("-created_at", "-id")[:200]
    )
    return render(
        request,
        "dashboard/coupons.html",
        {"nav_section": "coupons", "coupons": list(rows), "form": form},
        status=status,
    )


@require_POST
@member_required
def coupon_deactivate_view(request: HttpRequest, uuid: UUID) -> HttpResponse:
    coupon = tenant_object_get(request, Coupon.objects.all(), uuid, write=True)
    coupon_deactivate(coupon=coupon)
    messages.success(
        request,
        _("Coupon %(code)s switched off; subscriptions that have it keep their discount.")
        % {"code": coupon.code},
    )
    return redirect("dashboard:coupons")
