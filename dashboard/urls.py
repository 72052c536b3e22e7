from django.urls import path

from dashboard.views import (
    account,
    api_keys,
    coupons,
    imports,
    integrations,
    overview,
    pauses,
    plan_changes,
    reactivation,
    recovery,
    segmentations,
    settings,
    subscriptions,
    team,
    webhooks,
)

app_name = "dashboard"

urlpatterns = [
    path("coupons/", coupons.coupons, name="coupons"),
    path(
        "coupons/<uuid:uuid>/deactivate/",
        coupons.coupon_deactivate_view,
        name="coupon_deactivate",
    ),
    path("", overview.overview, name="overview"),
    path("switch-creator/", account.creator_switch, name="creator_switch"),
    path("subscriptions/", subscriptions.subscription_list, name="subscriptions"),
    path("recovery/", recovery.recovery_overview, name="recovery"),
    path("subscriptions/count/", subscriptions.subscription_count, name="subscriptions_count"),
    path(
        "subscriptions/export.csv", subscriptions.subscription_export, name="subscriptions_export"
    ),
    path("subscriptions/import/", imports.subscription_import, name="subscriptions_import"),
    path("subscriptions/bulk/", subscriptions.subscription_bulk, name="subscriptions_bulk"),
    path(
        "subscriptions/<uuid:uuid>/",
        subscriptions.subscription_detail,
        name="subscription_detail",
    ),
    path(
        "subscriptions/<uuid:uuid>/cancel/",
        subscriptions.subscription_cancel_view,
        name="subscription_cancel",
    ),
    path(
        "subscriptions/<uuid:uuid>/plan/",
        plan_changes.subscription_plan_change_view,
        name="subscription_plan_change",
    ),
    path(
        "subscriptions/<uuid:uuid>/pause/",
        pauses.subscription_pause_view,
        name="subscription_pause",
    ),
    path(
        "subscriptions/<uuid:uuid>/billing-day/",
        pauses.subscription_billing_day_view,
        name="subscription_billing_day",
    ),
    path(
        "subscriptions/<uuid:uuid>/resume/",
        pauses.subscription_resume_view,
        name="subscription_resume",
    ),
    path(
        "subscriptions/<uuid:uuid>/reactivation/",
        reactivation.request_create_view,
        name="reactivation_request",
    ),
    path("reactivation/", reactivation.request_list, name="reactivation_requests"),
    path(
        "reactivation/bulk/<uuid:uuid>/",
        reactivation.bulk_progress_page,
        name="reactivation_bulk",
    ),
    path(
        "reactivation/bulk/<uuid:uuid>/not-sent.csv",
        reactivation.bulk_refused_export,
        name="reactivation_bulk_refused_export",
    ),
    path(
        "reactivation/<uuid:uuid>/resend/",
        reactivation.request_resend_view,
        name="reactivation_resend",
    ),
    path(
        "reactivation/<uuid:uuid>/revoke/",
        reactivation.request_revoke_view,
        name="reactivation_revoke",
    ),
    path("segmentations/", segmentations.rule_list, name="segmentations"),
    path("segmentations/new/", segmentations.rule_create_view, name="segmentation_create"),
    path("segmentations/preview/", segmentations.rule_preview_view, name="segmentation_preview"),
    path("segmentations/row/", segmentations.rule_row, name="segmentation_row"),
    path("segmentations/<uuid:uuid>/", segmentations.rule_edit, name="segmentation_edit"),
    path(
        "segmentations/<uuid:uuid>/toggle/",
        segmentations.rule_toggle,
        name="segmentation_toggle",
    ),
    path(
        "segmentations/<uuid:uuid>/delete/",
        segmentations.rule_delete_view,
        name="segmentation_delete",
    ),
    path("segmentations/<uuid:uuid>/test/", segmentations.rule_test, name="segmentation_test"),
    path(
        "segmentations/<uuid:uuid>/deliveries/",
        segmentations.rule_deliveries,
        name="segmentation_deliveries",
    ),
    path(
        "segmentations/<uuid:uuid>/deliveries.csv",
        segmentations.rule_deliveries_export,
        name="segmentation_deliveries_export",
    ),
    path("integrations/", integrations.integration_list_view, name="integrations"),
    path("integrations/new/", integrations.integration_connect, name="integration_connect"),
    path(
        "integrations/oauth/callback/",
        integrations.integration_oauth_callback,
        name="integration_oauth_callback",
    ),
    path(
        "integrations/<uuid:uuid>/authorize/",
        integrations.integration_authorize,
        name="integration_authorize",
    ),
    path(
        "integrations/<uuid:uuid>/validate/",
        integrations.integration_validate_view,
        name="integration_validate",
    ),
    path(
        "integrations/<uuid:uuid>/rename/",
        integrations.integration_rename,
        name="integration_rename",
    ),
    path(
        "integrations/<uuid:uuid>/new-contacts/",
        integrations.integration_contact_status,
        name="integration_contact_status",
    ),
    path(
        "integrations/<uuid:uuid>/disconnect/",
        integrations.integration_disconnect,
        name="integration_disconnect",
    ),
    path("webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("webhooks/new/", webhooks.endpoint_create, name="webhook_create"),
    path("webhooks/<uuid:uuid>/", webhooks.endpoint_detail, name="webhook_detail"),
    path("webhooks/<uuid:uuid>/delete/", webhooks.endpoint_delete, name="webhook_delete"),
    path("webhooks/<uuid:uuid>/test/", webhooks.endpoint_test, name="webhook_test"),
    path(
        "webhook-deliveries/<uuid:uuid>/replay/",
        webhooks.delivery_replay,
        name="webhook_replay",
    ),
    path("team/", team.team, name="team"),
    path("team/<uuid:user_uuid>/role/", team.team_role, name="team_role"),
    path("team/<uuid:user_uuid>/remove/", team.team_remove, name="team_remove"),
    path("api-keys/", api_keys.api_keys, name="api_keys"),
    path("api-keys/<uuid:uuid>/revoke/", api_keys.api_key_revoke_view, name="api_key_revoke"),
    path("settings/", settings.creator_settings, name="settings"),
    path("settings/gateway/", settings.gateway_settings, name="settings_gateway"),
    path(
        "settings/recovery/<uuid:uuid>/",
        recovery.recovery_policy_edit,
        name="recovery_policy",
    ),
]
