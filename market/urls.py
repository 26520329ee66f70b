"""The market's URLs: portal, admin, accounts, API, the published standard."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from market import views

urlpatterns = [
    path("", views.home, name="home"),
    path("school/", views.school_home, name="school-home"),
    path("school/", include("tenants.urls")),
    path("vendor/", views.vendor_home, name="vendor-home"),
    path("vendor/", include("services.urls")),
    path("staff/overview/", views.staff_overview, name="staff-overview"),
    path("", include("services.standard_urls")),
    path("api/", include("market.api.urls")),
    path("monitoring/", include("monitoring.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
