"""The dashboard's navigation. A page added later (reactivation requests, segmentations,
integrations, webhooks) appends one `NavItem` here and its URL to `dashboard/urls.py`."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    url_name: str  # in the "dashboard" namespace
    label: str | Promise
    section: str  # matched against the `nav_section` a view puts in its context


NAV_ITEMS: list[NavItem] = [
    NavItem("overview", _("Overview"), "overview"),
    NavItem("subscriptions", _("Subscriptions"), "subscriptions"),
    NavItem("reactivation_requests", _("Reactivation"), "reactivation"),
    NavItem("recovery", _("Recovery"), "recovery"),
    NavItem("coupons", _("Coupons"), "coupons"),
    NavItem("segmentations", _("Segmentations"), "segmentations"),
    NavItem("integrations", _("Integrations"), "integrations"),
    NavItem("webhooks", _("Webhooks"), "webhooks"),
    NavItem("team", _("Team"), "team"),
    NavItem("api_keys", _("API keys"), "api_keys"),
    NavItem("settings", _("Settings"), "settings"),
]
