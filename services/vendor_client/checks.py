"""Deploy checks for talking to vendors; registered in ``services/apps.py``."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning

from services.vendor_client.jwt_keys import ENV_VAR as JWT_KEY_ENV_VAR
from services.vendor_client.jwt_keys import configured_key

_DEV_ONLY_ALLOWLISTS = ("VENDOR_ALLOWED_PRIVATE_HOSTS", "VENDOR_HTTP_ALLOWED_HOSTS")


def check_vendor_allowlists_empty_in_production(app_configs=None, **kwargs) -> list[Error]:
    """The development allowlists (private addresses, plain http) must be empty when DEBUG is off.

    Either one left set in production lets a registered vendor URL reach the market's own
    network or travel unencrypted.
    """
    if settings.DEBUG:
        return []
    errors = []
    for index, name in enumerate(_DEV_ONLY_ALLOWLISTS, start=1):
        value = getattr(settings, name, None) or []
        if value:
            errors.append(
                Error(
                    f"{name} is set ({', '.join(map(str, value))}) while DEBUG is off.",
                    hint=f"{name} is for development only: remove it from the production "
                    "environment. Vendors must be reachable on public https addresses.",
                    id=f"vendor_client.E00{index}",
                )
            )
    return errors


def check_jwt_key_configured(app_configs=None, **kwargs) -> list[Warning]:
    """Production should sign vendor JWTs with a key from the environment, not a generated file.

    A key generated into VAR_DIR differs per server and is lost with the disk, which breaks
    every vendor that cached the JWKS.
    """
    if settings.DEBUG or configured_key():
        return []
    return [
        Warning(
            f"{JWT_KEY_ENV_VAR} is not set while DEBUG is off.",
            hint="Set it to the market's RSA private key (PEM) so every server signs vendor "
            "JWTs with the same key; without it a key is generated under VAR_DIR.",
            id="vendor_client.W001",
        )
    ]
