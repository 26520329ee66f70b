"""Promise 6: secrets at rest.

Vendor API keys, signing secrets, OAuth2 client secrets and temporary passwords are Fernet
ciphertext (``market.lib.crypto``, MultiFernet over ``FIELD_ENCRYPTION_KEYS``); integrator API
tokens and user passwords are kept only as hashes; ``rotate_keys`` can run any number of times;
and a dump of the database - every value of every table - holds none of them in a usable form.
The basic column checks are ``tests/market/test_secrets_at_rest.py``; the token hash is
``tests/api/test_tokens.py``; the one-time reveal is ``tests/portal/test_school_pages.py``.
"""

from __future__ import annotations

import datetime
import io
import re

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.auth.hashers import identify_hasher
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from market.lib.crypto import EncryptedTextField, encrypted_fields
from market.models import ApiToken, User
from market.tokens import api_token_create, authenticate_token
from services.models import ServiceCredential
from tenants.credentials import tenant_reveal_credentials
from tenants.errors import LifecycleError
from tenants.models import Operation, Tenant
from tenants.operations.apply import operation_execute
from tenants.operations.services import subscription_create
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    ServiceFactory,
    StaffFactory,
    TenantFactory,
)
from tests.support.stub_vendor import StubVendor, register_stub_service
from tests.support.vendors import TEST_CREDENTIALS

pytestmark = pytest.mark.django_db

KEY_1 = Fernet.generate_key().decode()
KEY_2 = Fernet.generate_key().decode()
KEY_3 = Fernet.generate_key().decode()

# Column names that would hold a credential; each must be encrypted or one of the hashes below.
CREDENTIAL_NAME = re.compile(r"secret|password|passwd|api_?key|token|private|signature", re.I)
HASHED = {
    ("market.User", "password"): "Django's salted password hash",
    ("market.ApiToken", "key_hash"): "SHA-256 of a 256-bit random token",
    ("lti.RegistrationToken", "token_hash"): "SHA-256 of a 256-bit random token",
    ("lti.AccessToken", "token_hash"): "SHA-256 of a 256-bit random token",
}


def database_dump() -> str:
    """Every value of every table, as ``dumpdata`` or a SQL dump would hold it."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            values.extend(str(v) for row in cursor.fetchall() for v in row)
    return "\n".join(values)


@pytest.fixture(autouse=True)
def _real_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_1]
    settings.LANGUAGE_CODE = "en"


def test_every_column_named_like_a_credential_is_encrypted_or_a_hash():
    plain = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not CREDENTIAL_NAME.search(field.name):
                continue
            if isinstance(field, EncryptedTextField):
                continue
            if (model._meta.label, field.name) in HASHED:
                continue
            if field.get_internal_type() in (
                "BooleanField",
                "DateTimeField",
                "PositiveIntegerField",
                "BigIntegerField",  # e.g. events.Event.actor_token_id: which token, not its key
            ):
                continue  # e.g. credentials_revealed_at: about a secret, not the secret
            plain.append(f"{model._meta.label}.{field.name}")
    assert plain == [], f"stored in plain text: {plain}"
    labels = {(model._meta.label, name) for model, names in encrypted_fields() for name in names}
    assert labels >= {
        ("services.ServiceCredential", "api_key"),
        ("services.ServiceCredential", "signing_secret"),
        ("services.ServiceCredential", "oauth_client_secret"),
        ("tenants.Tenant", "temp_password"),
        ("webhooks.Endpoint", "secret"),
        ("webhooks.Endpoint", "previous_secret"),
    }


def test_a_dump_holds_no_usable_credential_of_any_kind(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    ServiceCredential.objects.create(
        service=ServiceFactory(),
        api_key="mk_needle_api_key",
        signing_secret="whsec_needle_signing",
        oauth_client_secret="needle-oauth-client-secret",
    )
    TenantFactory(temp_password="Needle-Temp-Pass")
    token, plaintext = api_token_create(name="erp", scope="staff", created_by=StaffFactory())
    user = SchoolAdminFactory()
    user.set_password("Needle-User-Pass-77")
    user.save()
    browser = Client()
    for attempt in ("Needle-User-Pass-78", "Needle-User-Pass-77"):  # a near miss, then right
        browser.post(reverse("login"), {"username": user.username, "password": attempt})

    dump = database_dump()

    for secret in (
        "mk_needle_api_key",
        "whsec_needle_signing",
        "needle-oauth-client-secret",
        "Needle-Temp-Pass",
        plaintext,
        plaintext.split("_", 2)[2],  # the secret part of the token alone
        "Needle-User-Pass-77",
        "Needle-User-Pass-78",
    ):
        assert secret not in dump, secret
    # What the dump does hold is useless without the keys: a token hash is not a token, and the
    # user password is a salted slow hash.
    stored_hash = ApiToken.objects.get(pk=token.pk).key_hash
    assert stored_hash in dump
    assert authenticate_token(stored_hash) is None
    assert identify_hasher(User.objects.get(pk=user.pk).password).algorithm == "pbkdf2_sha256"


def _activated_tenant() -> tuple[StubVendor, Tenant]:
    """A tenant activated through the real executor against a stub vendor that sends a password."""
    stub = StubVendor(api_key=TEST_CREDENTIALS.api_key, temp_password="Stub-Needle-Pa55")
    service = register_stub_service(stub)
    subscription = subscription_create(
        organization=OrganizationFactory(slug="needle_school"),
        service=service,
        plan=service.plans.get(code="basic"),
        ends_on=timezone.localdate() + datetime.timedelta(days=90),
        max_users=50,
        storage_limit_gb=5,
        admin_email="admin@needle.example",
        admin_name="Needle Admin",
    )
    operation = Operation.objects.get(subscription=subscription, kind=Operation.Kind.ACTIVATE)
    assert operation_execute(operation_id=operation.pk) == "succeeded"
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.temp_password == "Stub-Needle-Pa55"
    return stub, tenant


def test_after_a_real_activation_the_dump_holds_no_temporary_password():
    stub, _tenant = _activated_tenant()
    try:
        assert "Stub-Needle-Pa55" not in database_dump()
    finally:
        stub.stop()


def test_after_the_one_reveal_no_copy_of_the_temporary_password_is_left():
    stub, tenant = _activated_tenant()
    try:
        shown = tenant_reveal_credentials(tenant=tenant, user=SchoolAdminFactory())
        assert shown == "Stub-Needle-Pa55"
        assert "Stub-Needle-Pa55" not in database_dump()
    finally:
        stub.stop()


def test_the_reveal_erases_the_password_column_and_a_second_reveal_is_refused():
    tenant = TenantFactory(temp_password="Reveal-Me-Once")
    admin = SchoolAdminFactory(organization=tenant.organization)

    assert tenant_reveal_credentials(tenant=tenant, user=admin) == "Reveal-Me-Once"

    with connection.cursor() as cursor:
        cursor.execute("SELECT temp_password FROM tenants_tenant WHERE id = %s", [tenant.pk])
        assert cursor.fetchone()[0] == ""
    with pytest.raises(LifecycleError, match="already shown"):
        tenant_reveal_credentials(tenant=tenant, user=admin)


def _raw(model, pk, column) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_rotate_keys_covers_every_encrypted_column_and_is_safe_to_repeat(settings):
    credential = ServiceCredential.objects.create(
        service=ServiceFactory(),
        api_key="mk_rotating",
        signing_secret="whsec_rotating",
        oauth_client_secret="oauth-rotating",
    )
    tenant = TenantFactory(temp_password="temp-rotating")
    out = io.StringIO()

    # Rotation 1: KEY_2 is new; KEY_1 still reads the old values (MultiFernet) during the run.
    settings.FIELD_ENCRYPTION_KEYS = [KEY_2, KEY_1]
    call_command("rotate_keys", stdout=out)
    after_first = {
        c: _raw(ServiceCredential, credential.pk, c)
        for c in ("api_key", "signing_secret", "oauth_client_secret")
    }
    # Run again with the same keys (an operator repeats the command): still readable.
    call_command("rotate_keys", stdout=out)
    # Drop the old key and run once more: nothing is left that needed it.
    settings.FIELD_ENCRYPTION_KEYS = [KEY_2]
    call_command("rotate_keys", stdout=out)
    # Rotation 2 on top: KEY_3 new, KEY_2 old.
    settings.FIELD_ENCRYPTION_KEYS = [KEY_3, KEY_2]
    call_command("rotate_keys", stdout=out)
    settings.FIELD_ENCRYPTION_KEYS = [KEY_3]

    credential.refresh_from_db()
    tenant.refresh_from_db()
    assert (credential.api_key, credential.signing_secret, credential.oauth_client_secret) == (
        "mk_rotating",
        "whsec_rotating",
        "oauth-rotating",
    )
    assert tenant.temp_password == "temp-rotating"
    for column, value in after_first.items():
        token = value.removeprefix("fernet:").encode()
        assert Fernet(KEY_2.encode()).decrypt(token), column  # rotation 1 wrote under KEY_2
        current = _raw(ServiceCredential, credential.pk, column).removeprefix("fernet:").encode()
        with pytest.raises(Exception):  # noqa: B017 - InvalidToken: KEY_1 opens nothing now
            Fernet(KEY_1.encode()).decrypt(current)
    assert out.getvalue().count("re-encrypted") == 4
