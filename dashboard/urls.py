from django.urls import path

from dashboard.views import account, api_keys, overview, settings, subscriptions, team

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("switch-creator/", account.creator_switch, name="creator_switch"),
    path("subscriptions/", subscriptions.subscription_list, name="subscriptions"),
    path("subscriptions/count/", subscriptions.subscription_count, name="subscriptions_count"),
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
    path("team/", team.team, name="team"),
    path("team/<uuid:user_uuid>/role/", team.team_role, name="team_role"),
    path("team/<uuid:user_uuid>/remove/", team.team_remove, name="team_remove"),
    path("api-keys/", api_keys.api_keys, name="api_keys"),
    path("api-keys/<uuid:uuid>/revoke/", api_keys.api_key_revoke_view, name="api_key_revoke"),
    path("settings/", settings.creator_settings, name="settings"),
]
