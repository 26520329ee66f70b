"""The school admin's pages, under /school/ (the dashboard itself is portal.views.school_home)."""

from django.urls import path

from portal import school_views as views

urlpatterns = [
    path("catalog/", views.catalog, name="school-catalog"),
    path("catalog/<slug:service_id>/", views.service_detail, name="school-service"),
    path("catalog/<slug:service_id>/subscribe/", views.subscribe, name="school-subscribe"),
    path("subscriptions/", views.subscription_list, name="school-subscriptions"),
    path("subscriptions/<int:pk>/", views.subscription_detail, name="school-subscription"),
    path(
        "subscriptions/<int:pk>/state/",
        views.subscription_state,
        name="school-subscription-state",
    ),
    path(
        "subscriptions/<int:pk>/credentials/",
        views.subscription_reveal_credentials,
        name="school-subscription-credentials",
    ),
    path(
        "subscriptions/<int:pk>/renew/",
        views.subscription_renew_view,
        name="school-subscription-renew",
    ),
    path(
        "subscriptions/<int:pk>/plan/",
        views.subscription_change_plan_view,
        name="school-subscription-plan",
    ),
    path(
        "subscriptions/<int:pk>/retry/",
        views.subscription_retry_view,
        name="school-subscription-retry",
    ),
    path(
        "subscriptions/<int:pk>/cancel/",
        views.subscription_cancel_view,
        name="school-subscription-cancel",
    ),
    path("team/", views.team, name="school-team"),
]
