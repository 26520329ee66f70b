"""Monitoring pages: status, the staff dashboard, a service's history, statements, metrics."""

from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("status/", views.status, name="status"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("services/<slug:service_id>/", views.service_history, name="service-history"),
    path("usage/<int:report_id>/collect/", views.usage_collect, name="usage-collect"),
    path("statements/", views.statement_list, name="statement-list"),
    path("statements/preview/", views.statement_preview, name="statement-preview"),
    path("statements/issue/", views.statements_issue, name="statements-issue"),
    path("statements/<int:pk>/", views.statement_detail, name="statement-detail"),
    path("statements/<int:pk>/csv/", views.statement_csv, name="statement-csv"),
    path("metrics", views.metrics, name="metrics"),
]
