from django.urls import path

from recovery import views

urlpatterns = [
    path("pay/<str:token>/", views.payment_page, name="payment_page"),
]
