"""The LTI platform's URLs (included at the site root by ``market/urls.py``)."""

from django.urls import path

from lti import views

urlpatterns = [
    # The school page's "open" button (its name predates the lti app; templates use it).
    path(
        "school/subscriptions/<int:pk>/launch",
        views.launch,
        name="school-subscription-launch",
    ),
    path("lti/authorize", views.authorize, name="lti-authorize"),
    path("lti/register", views.register, name="lti-register"),
    path("lti/token", views.token, name="lti-token"),
    path(
        "lti/nrps/<str:deployment_id>/memberships",
        views.nrps_memberships,
        name="lti-nrps-memberships",
    ),
    path(
        ".well-known/openid-configuration",
        views.openid_configuration,
        name="lti-openid-configuration",
    ),
    path("vendor/lti/", views.vendor_tools, name="lti-vendor-tools"),
    path(
        "vendor/lti/<slug:service_id>/register/",
        views.vendor_register,
        name="lti-vendor-register",
    ),
]
