"""Secrets at rest: Fernet encryption with key rotation (MultiFernet).

The first key in FIELD_ENCRYPTION_KEYS encrypts; every key decrypts. In development,
with no keys configured, one key is derived from SECRET_KEY so nothing needs set-up.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext.startswith(PREFIX):
        raise ValueError("Value is not an encrypted secret.")
    try:
        return fernet().decrypt(ciphertext.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise ValueError(
            "Secret cannot be decrypted: FIELD_ENCRYPTION_KEYS lacks the key it was written with."
        ) from None


class EncryptedTextField(models.TextField):
    """A text column stored as Fernet ciphertext and read back as plaintext."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted columns, and the names of those columns."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def reencrypt_all(batch_size: int = 500) -> int:
    """Re-save every encrypted value under the newest key; safe to run any number of times."""
    from django.db import transaction

    rewritten = 0
    for model, names in encrypted_fields():
        for obj in model._default_manager.only("pk", *names).iterator(chunk_size=batch_size):
            with transaction.atomic():
                # Loading decrypted with any configured key; saving encrypts with the first.
                model._default_manager.filter(pk=obj.pk).update(
                    **{name: getattr(obj, name) for name in names}
                )
            rewritten += 1
    return rewritten
