"""The market's URLs: portal, admin, accounts, API, the published standard."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# Apps are included by name only: this URLconf sits above every app (docs/architecture.md).
urlpatterns = [
    path("", include("lti.urls")),
    path("", include("portal.urls")),
    path("", include("services.standard_urls")),
    path("api/", include("portal.api.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("", include("webhooks.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # Password reset through the mail outbox; before Django's views of the same names.
    path("accounts/", include("mailer.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
