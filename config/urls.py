from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api.errors import api_not_found
from subscriptions.stripe_webhooks import stripe_webhook_view

admin.site.site_header = _("Subscription Manager support")
admin.site.site_title = _("Subscription Manager support")

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (API docs, errors).
    path(
        "favicon.ico",
        lambda request: redirect(static("favicon.svg"), permanent=True),
        name="favicon",
    ),
    # Webhooks moved from the notifications app to their own: old admin links still work.
    re_path(
        r"^admin/notifications/(?P<model>webhookendpoint|webhookdelivery)/(?P<rest>.*)$",
        RedirectView.as_view(
            url="/admin/webhooks/%(model)s/%(rest)s", permanent=True, query_string=True
        ),
    ),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Keep last among /api/ routes: unknown API URLs answer the JSON error shape.
    re_path(r"^api/", api_not_found),
    path("webhooks/stripe/<uuid:creator_uuid>/", stripe_webhook_view, name="stripe-webhook"),
    path("dev/", include("notifications.urls")),
    path("", include("reactivation.urls")),
    path("", include("recovery.urls")),
    path("s/", include("dashboard.subscriber.urls")),
    path("", include("dashboard.auth_urls")),
    path("", include("dashboard.urls")),
]

handler404 = "core.api.errors.handler404"
handler500 = "core.api.errors.handler500"
