"""Development-only pages (DEBUG): mounted at /dev/ by config/urls.py."""

from django.urls import path

from notifications import views

urlpatterns = [
    path("outbox/", views.outbox_list, name="dev-outbox"),
    path("outbox/<int:email_id>/", views.outbox_detail, name="dev-outbox-email"),
]
