from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from tests.reliability.chaos import views

urlpatterns = [
    path("_chaos/ping", views.ping),
    path("_chaos/subscriptions/<int:pk>/cancel", views.cancel),
    *project_urlpatterns,
]
