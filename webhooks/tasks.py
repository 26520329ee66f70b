"""Celery tasks of webhooks: thin wrappers that take ids and call one function."""

from celery import shared_task

from webhooks import dispatch


@shared_task(name="webhooks.fan_out", acks_late=True)
def fan_out(event_ids: list[int]) -> int:
    return sum(len(dispatch.event_fan_out(event_id=event_id)) for event_id in event_ids)


@shared_task(name="webhooks.deliver", acks_late=True)
def deliver(delivery_id: int, manual: bool = False) -> str:
    return dispatch.delivery_send(delivery_id=delivery_id, manual=manual)


@shared_task(name="webhooks.sweep")
def sweep() -> dict:
    return dispatch.deliveries_sweep()
