"""Password reset through the outbox; included under accounts/ before django.contrib.auth.urls."""

from django.urls import path

from mailer import password_reset

urlpatterns = [
    path(
        "password_reset/",
        password_reset.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password_reset/done/",
        password_reset.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
]
