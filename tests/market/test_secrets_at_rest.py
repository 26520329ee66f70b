"""Secrets are stored encrypted, rotate to a new key, and never appear in a database dump."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from services.models import ServiceCredential
from tests.factories import ServiceFactory, TenantFactory

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_column(model, pk, column):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def database_dump() -> str:
    """Every text value of every table, as a dump would hold it."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            values.extend(str(v) for row in cursor.fetchall() for v in row)
    return "\n".join(values)


def test_credentials_are_ciphertext_in_the_database(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    credential = ServiceCredential.objects.create(
        service=ServiceFactory(), api_key="mk_plain_api_key", signing_secret="whsec_plain_secret"
    )
    stored = raw_column(ServiceCredential, credential.pk, "api_key")
    assert stored.startswith("fernet:")
    assert "mk_plain_api_key" not in stored
    credential.refresh_from_db()
    assert credential.api_key == "mk_plain_api_key"


def test_a_dump_holds_no_usable_credential(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    ServiceCredential.objects.create(
        service=ServiceFactory(), api_key="mk_needle_key_123", signing_secret="whsec_needle_456"
    )
    TenantFactory(temp_password="temp-needle-789")
    dump = database_dump()
    for secret in ("mk_needle_key_123", "whsec_needle_456", "temp-needle-789"):
        assert secret not in dump


def test_rotate_keys_moves_every_secret_to_the_new_key_and_can_run_twice(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    credential = ServiceCredential.objects.create(
        service=ServiceFactory(), api_key="mk_rotate_me", signing_secret="whsec_rotate_me"
    )
    tenant = TenantFactory(temp_password="temp-rotate")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    call_command("rotate_keys", stdout=out)
    assert "re-encrypted" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key is gone now
    credential.refresh_from_db()
    tenant.refresh_from_db()
    assert credential.api_key == "mk_rotate_me"
    assert credential.signing_secret == "whsec_rotate_me"
    assert tenant.temp_password == "temp-rotate"


def test_reading_without_the_right_key_says_which_setting_to_fix(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    credential = ServiceCredential.objects.create(
        service=ServiceFactory(), api_key="mk_x", signing_secret="whsec_x"
    )
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEYS"):
        ServiceCredential.objects.get(pk=credential.pk)
