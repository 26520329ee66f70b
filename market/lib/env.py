"""Typed reading of environment variables, failing with one line that says what to fix."""

import os
from collections.abc import Callable
from urllib.parse import urlparse


class EnvError(Exception):
    """A setting in the environment is missing or malformed."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None:
        if required:
            raise EnvError(f"{name} is required: set it in the environment.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise EnvError(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise EnvError(
            f"{name}={value!r} is not a whole number: use digits only, e.g. 30."
        ) from None
    if minimum is not None and number < minimum:
        raise EnvError(f"{name}={number} is too small: use {minimum} or more.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    value = _raw(name) or default
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        allowed = ", ".join(f"{scheme}://" for scheme in schemes)
        raise EnvError(f"{name}={value!r} is not a supported URL: it must start with {allowed}")
    return value


def env_choice(name: str, default: str, choices: dict[str, str]) -> str:
    value = _raw(name) or default
    if value not in choices:
        raise EnvError(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return choices[value]


def run_with_clear_env_errors(main: Callable[[], object]) -> None:
    """Run an entry point; turn an EnvError into one line on stderr and exit code 2."""
    import sys

    try:
        main()
    except EnvError as error:
        sys.stderr.write(f"Configuration error: {error}\n")
        sys.exit(2)
