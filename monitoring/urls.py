"""Monitoring pages: the staff dashboard, the status page, metrics. (Filled in by the monitoring work.)"""

urlpatterns: list = []
