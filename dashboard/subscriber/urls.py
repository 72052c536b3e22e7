from django.urls import path

from dashboard.subscriber import views

app_name = "subscriber"

urlpatterns = [
    path("<slug:slug>/", views.sign_in_request, name="sign_in_request"),
    path("<slug:slug>/sign-in/<str:token>/", views.sign_in, name="sign_in"),
    path("<slug:slug>/manage/", views.manage, name="manage"),
    path("<slug:slug>/manage/<uuid:uuid>/cancel/", views.cancel, name="cancel"),
    path("<slug:slug>/manage/<uuid:uuid>/restart/", views.restart, name="restart"),
    path("<slug:slug>/manage/<uuid:uuid>/pause/", views.pause, name="pause"),
    path("<slug:slug>/manage/<uuid:uuid>/retain/", views.retain, name="retain"),
    path("<slug:slug>/manage/<uuid:uuid>/billing-day/", views.billing_day, name="billing_day"),
    path("<slug:slug>/manage/<uuid:uuid>/plan/", views.change_plan, name="change_plan"),
    path("<slug:slug>/manage/<uuid:uuid>/resume/", views.resume, name="resume"),
    path("<slug:slug>/sign-out/", views.sign_out, name="sign_out"),
]
