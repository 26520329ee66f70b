"""Market-wide tasks."""

from celery import shared_task


@shared_task(name="market.ping")
def ping(value: str = "pong") -> str:
    """Echo a value; proves a task travels through the broker to a worker and back."""
    return value
