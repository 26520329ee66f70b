"""The catalog's Celery tasks (thin: each calls one service function)."""

from celery import shared_task

from market.models import User
from services.models import Service


@shared_task(name="services.conformance_run", ignore_result=True)
def conformance_run(service_pk: int, started_by_pk: int | None = None) -> str:
    """Run the conformance kit against a registered service on a worker (it takes seconds)."""
    from services.conformance import conformance_run as run_kit

    service = Service.objects.filter(pk=service_pk).first()
    if service is None:
        return "gone"
    started_by = User.objects.filter(pk=started_by_pk).first() if started_by_pk else None
    return run_kit(service=service, started_by=started_by).result
