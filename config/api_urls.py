"""Routes of REST API v1. Each app contributes its own `api/urls.py` (a list named
`urlpatterns`); add the app here once."""

from django.urls import include, path

urlpatterns = [
    path("", include("subscriptions.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("segmentation.api.urls")),
    path("", include("reactivation.api.urls")),
]
