from django.urls import re_path

from core.api.routers import OptionalSlashRouter
from reactivation.api import views

router = OptionalSlashRouter()
router.register(
    "reactivation-requests", views.ReactivationRequestViewSet, basename="reactivation-request"
)

urlpatterns = [
    re_path(
        r"^subscriptions/(?P<id>[^/]+)/reactivation-requests/?$",
        views.SubscriptionReactivationRequestView.as_view(),
        name="subscription-reactivation-requests",
    ),
    *router.urls,
]
