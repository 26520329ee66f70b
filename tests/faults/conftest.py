"""Fixtures for fault tests: stub vendors, real workers that may be SIGKILLed, the broker itself."""

import contextlib
import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tenants.models import Subscription
from tenants.operations import dispatch, reconcile
from tenants.operations.services import subscription_create
from tests.factories import OrganizationFactory
from tests.support.stub_vendor import StubVendor, register_stub_service
from tests.support.vendors import TEST_CREDENTIALS
from tests.support.worker import WorkerProcess


@pytest.fixture
def stub():
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as vendor:
        yield vendor


@pytest.fixture
def service(stub, transactional_db):
    return register_stub_service(stub)


class Workers:
    """Real Celery worker processes on the test database, started on demand."""

    def __init__(self) -> None:
        self.started: list[WorkerProcess] = []

    def start(
        self, *, concurrency: int = 2, pool: str = "prefork", extra_env=None
    ) -> WorkerProcess:
        worker = WorkerProcess(concurrency=concurrency, pool=pool, extra_env=extra_env)
        self.started.append(worker)
        return worker.start()

    def kill_all(self) -> None:
        # SIGKILL, not a warm shutdown: a test is over, and a prefork worker whose children
        # get SIGTERM with it can take 15 s to stop.
        for worker in self.started:
            worker.kill()


@pytest.fixture
def workers(transactional_db):
    started = Workers()
    yield started
    started.kill_all()


class HeldDispatch:
    """While held, operations handed to the broker are dropped (the web process died)."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.dropped: list[int] = []
        self._context = None

    def hold(self) -> None:
        def drop(operation_id, *, countdown=None):
            self.dropped.append(operation_id)

        self._context = self.monkeypatch.context()
        patch = self._context.__enter__()
        patch.setattr(dispatch, "send_to_worker", drop)
        patch.setattr(reconcile, "send_to_worker", drop)

    def release(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None

    @contextlib.contextmanager
    def held(self):
        self.hold()
        try:
            yield self.dropped
        finally:
            self.release()


@pytest.fixture
def held_dispatch(monkeypatch):
    held = HeldDispatch(monkeypatch)
    yield held
    held.release()


class Broker:
    """The broker the workers read from: count its messages, or lose them all."""

    def _redis(self):
        import redis

        return redis.Redis.from_url(settings.CELERY_BROKER_URL)

    @property
    def is_redis(self) -> bool:
        return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))

    def _queue_folder(self) -> Path:
        return Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])

    def queued(self, queue: str = "celery") -> int:
        if self.is_redis:
            return self._redis().llen(queue)
        return len(list(self._queue_folder().glob(f"*.{queue}.msg")))

    def lose_everything(self) -> None:
        """What a broker restart without persistence does: every queued message is gone."""
        if self.is_redis:
            self._redis().flushdb()
            return
        for message in self._queue_folder().iterdir():
            message.unlink()


@pytest.fixture
def broker():
    return Broker()


def _subscribe(service, *, slug: str, plan: str = "basic") -> Subscription:
    """One school subscribing (committed; the activation is dispatched unless held)."""
    school = OrganizationFactory(name=f"School {slug}", slug=slug)
    return subscription_create(
        organization=school,
        service=service,
        plan=service.plans.get(code=plan),
        ends_on=timezone.localdate() + datetime.timedelta(days=90),
        max_users=50,
        storage_limit_gb=5,
        admin_email=f"admin@{slug}.example",
        admin_name="홍길동",
    )


@pytest.fixture
def subscribe():
    return _subscribe
