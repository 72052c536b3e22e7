"""Django's auth views with our templates. Names stay un-namespaced ("login",
"password_reset_confirm", …) because LOGIN_URL and Django's own views expect them."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from core.ratelimit import rate_limit

# Per client IP, on top of django-axes' lockout (which counts failures only): bounds
# password guessing spread over many accounts from one address.
login_rate_limit = rate_limit(
    "login",
    limit=lambda: settings.LOGIN_RATE_LIMIT,
    window_seconds=lambda: settings.LOGIN_RATE_WINDOW_SECONDS,
    methods=("POST",),
)

urlpatterns = [
    path(
        "login/",
        login_rate_limit(
            auth_views.LoginView.as_view(  # type: ignore[type-var]
                template_name="registration/login.html", redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="registration/password_reset_form.html",
            email_template_name="registration/password_reset_email.txt",
            html_email_template_name="registration/password_reset_email.html",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_reset_confirm.html"
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
