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


class DeliveredMailbox:
    """Django's test outbox, read after the market's outbox has sent what is due.

    Mail is written to the outbox (`mailer`) and sent by a worker; this does the worker's
    part in the test process each time a test looks, so a test still sees the real messages,
    built and sent by the real sending code.
    """

    def __init__(self, outbox: list):
        self.outbox = outbox

    def _delivered(self) -> list:
        from mailer.services import outgoing_mail_send_due

        outgoing_mail_send_due()
        return self.outbox

    def __iter__(self):
        return iter(self._delivered())

    def __len__(self):
        return len(self._delivered())

    def __getitem__(self, index):
        return self._delivered()[index]

    def __eq__(self, other):
        return self._delivered() == other

    def __repr__(self):
        return repr(self._delivered())

    def clear(self):
        self._delivered().clear()


@pytest.fixture
def mailoutbox(django_mail_patch_dns, _dj_autoclear_mailbox):
    from django.core import mail

    return DeliveredMailbox(mail.outbox)


@pytest.fixture(autouse=True)
def _default_language():
    """Start every test in the default language (Korean).

    A request through the test client activates the caller's language in this thread and
    Django leaves it active after the response, so without this a test's language would
    depend on the tests that ran before it.
    """
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
