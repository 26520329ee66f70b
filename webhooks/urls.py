"""Portal pages of webhooks, under /webhooks/, and the staff activity page."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="webhook-list"),
    path("webhooks/<int:pk>/", views.endpoint_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/test/", views.endpoint_test, name="webhook-test"),
    path("webhooks/<int:pk>/rotate/", views.endpoint_rotate, name="webhook-rotate"),
    path("webhooks/<int:pk>/toggle/", views.endpoint_toggle, name="webhook-toggle"),
    path("webhooks/<int:pk>/delete/", views.endpoint_delete, name="webhook-delete"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/resend/",
        views.delivery_resend,
        name="webhook-resend",
    ),
    path("staff/activity/", views.staff_activity, name="staff-activity"),
]
