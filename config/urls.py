from django.contrib import admin
from django.urls import include, path

from subscriptions.stripe_webhooks import stripe_webhook_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("config.api_urls")),
    path("webhooks/stripe/<uuid:creator_uuid>/", stripe_webhook_view, name="stripe-webhook"),
    path("dev/", include("notifications.urls")),
    path("s/", include("dashboard.subscriber.urls")),
    path("", include("dashboard.auth_urls")),
    path("", include("dashboard.urls")),
]
