"""Fixtures shared by the whole suite."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.worker import WorkerProcess


@pytest.fixture(scope="session", autouse=True)
def _empty_test_broker():
    """Each run starts with an empty broker and mailbox, so nothing leaks between runs."""
    for name in ("broker/queue", "mail"):
        folder = Path(settings.VAR_DIR) / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker process using the test database; stopped after the test."""
    worker = WorkerProcess().start()
    yield worker
    worker.stop()


@pytest.fixture
def sent_mail_dir():
    """Where worker processes write e-mail (the file backend); emptied before the test."""
    folder = Path(settings.EMAIL_FILE_PATH)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def reference_vendor(tmp_path):
    """The reference vendor on a free 127.0.0.1 port, knowing the test credentials."""
    from tests.support.vendors import RunningVendor

    vendor = RunningVendor(tmp_path)
    yield vendor
    vendor.stop()
