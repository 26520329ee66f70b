"""The portal's landing page and dashboards; the school's and the vendor's pages are included."""

from django.urls import include, path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("school/", views.school_home, name="school-home"),
    path("school/", include("portal.school_urls")),
    path("vendor/", views.vendor_home, name="vendor-home"),
    path("vendor/", include("portal.vendor_urls")),
    path("staff/overview/", views.staff_overview, name="staff-overview"),
    path(
        "staff/operations/<int:pk>/retry/",
        views.staff_operation_retry,
        name="staff-operation-retry",
    ),
    path(
        "staff/operations/<int:pk>/cancel/",
        views.staff_operation_cancel,
        name="staff-operation-cancel",
    ),
]
