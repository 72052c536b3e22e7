"""Payment recovery in the dashboard (SPEC §4.6): the Recovery page (what is late, what
came back), and the settings per product (listed on the Settings page, each product's
policy with its own form)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dashboard.access import member_required, membership, tenant_object_get
from dashboard.forms import RecoveryPolicyForm
from dashboard.pagination import SortKey, keyset_page, parse_date_value
from dashboard.recovery_figures import WINDOW_DAYS, overdue_subscriptions, recovery_figures
from dashboard.recovery_presenters import attempt_rows, recovery_chart
from subscriptions.billing import local_date
from subscriptions.models import Product
from subscriptions.overdue import unpaid_period_start
from subscriptions.policies import recovery_policy_for, recovery_policy_update


@member_required
def recovery_policy_edit(request: HttpRequest, uuid: UUID) -> HttpResponse:
    writing = request.method == "POST"
    product = tenant_object_get(request, Product.objects.all(), uuid, write=writing)
    policy = recovery_policy_for(product=product)
    status = 200
    if writing:
        form = RecoveryPolicyForm(request.POST, product=product)
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
                "renewal_reminder_days": policy.renewal_reminder_days,
                "send_card_expiring_email": policy.send_card_expiring_email,
                "pause_access": policy.pause_access,
                "subscribers_can_pause": policy.subscribers_can_pause,
                "max_pause_periods": policy.max_pause_periods,
                "subscribers_can_change_billing_day": policy.subscribers_can_change_billing_day,
                "subscribers_can_switch_plans": policy.subscribers_can_switch_plans,
                "cancel_reasons": policy.cancel_reasons,
                "retention_offer": policy.retention_offer,
                "retention_pause_periods": policy.retention_pause_periods,
                "retention_plan": policy.retention_plan.uuid if policy.retention_plan else None,
                "retention_coupon": (
                    policy.retention_coupon.uuid if policy.retention_coupon else None
                ),
            },
            product=product,
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


OVERDUE_PAGE_SIZE = 50
OVERDUE_SORT = SortKey("next_charge_date", descending=False, nullable=True, parse=parse_date_value)


@require_GET
@member_required
def recovery_overview(request: HttpRequest) -> HttpResponse:
    """The Recovery page: late now, recovered this month, by attempt, the late list."""
    creator = membership(request).creator
    figures = recovery_figures(creator=creator)
    page = keyset_page(
        overdue_subscriptions(creator=creator),
        key=OVERDUE_SORT,
        cursor=request.GET.get("cursor"),
        size=OVERDUE_PAGE_SIZE,
    )
    today = local_date(timezone.now(), creator.tz)
    rows = []
    for subscription in page.rows:
        unpaid = unpaid_period_start(subscription)
        rows.append(
            {
                "subscription": subscription,
                "amount": subscription.plan.price,
                "currency": subscription.plan.currency,
                "unpaid_since": unpaid,
                "days_late": (today - unpaid).days if unpaid else None,
            }
        )
    return render(
        request,
        "dashboard/recovery.html",
        {
            "nav_section": "recovery",
            "figures": figures,
            "chart": recovery_chart(figures.window),
            "attempt_rows": attempt_rows(figures.window),
            "rows": rows,
            "page": page,
            "window_days": WINDOW_DAYS,
        },
    )
