from django.urls import path

from reactivation import views

urlpatterns = [
    path("reactivate/<str:token>/", views.reactivation_page, name="reactivation_page"),
]
