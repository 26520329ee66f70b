"""The vendor's pages, under /vendor/ (the dashboard itself is portal.views.vendor_home)."""

from django.urls import path

from portal import vendor_views as views

urlpatterns = [
    path("signup/", views.signup, name="vendor-signup"),
    path("register/", views.service_new, name="vendor-service-new"),
    path("submissions/", views.rejected_submissions, name="vendor-submissions"),
    path("services/<slug:service_id>/", views.service_detail, name="vendor-service"),
    path(
        "services/<slug:service_id>/manifest/",
        views.manifest_submit,
        name="vendor-manifest-submit",
    ),
    path(
        "services/<slug:service_id>/manifests/<int:number>/",
        views.manifest_detail,
        name="vendor-manifest",
    ),
    path(
        "services/<slug:service_id>/credentials/",
        views.credentials_rotate,
        name="vendor-credentials-rotate",
    ),
    path("services/<slug:service_id>/tenants/", views.service_tenants, name="vendor-tenants"),
    path(
        "services/<slug:service_id>/tenants/<int:pk>/",
        views.tenant_detail,
        name="vendor-tenant",
    ),
    path(
        "services/<slug:service_id>/conformance/",
        views.conformance_start,
        name="vendor-conformance-start",
    ),
    path(
        "services/<slug:service_id>/conformance/<int:pk>/",
        views.conformance_report,
        name="vendor-conformance",
    ),
]
