"""A task really travels through the broker to a worker process and back (not eager mode)."""

import uuid

import pytest
from django.conf import settings

from market.tasks import ping

pytestmark = pytest.mark.worker


def test_task_roundtrip_through_a_real_worker(celery_worker):
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    token = uuid.uuid4().hex
    assert ping.delay(token).get(timeout=30) == token
    assert "market.ping" in celery_worker.log_text()
