"""A function a lower layer calls and a layer above it provides.

Imports only point down (docs/architecture.md). When a lower app must ask a question only
an app above it can answer (the catalog asking which plans live subscriptions are on), the
lower app declares a `Provided`, calls it like a function, and the app above provides the
implementation in its `AppConfig.ready()`. The dependency stays written down on both sides,
and no module imports upward.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class Provided:
    """A named function slot; calling it before an app provided it says which one is missing."""

    def __init__(self, name: str, *, provider: str):
        self.name = name
        self.provider = provider
        self._function: Callable[..., Any] | None = None

    def provide(self, function: Callable[..., Any]) -> Callable[..., Any]:
        self._function = function
        return function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._function is None:
            raise ImproperlyConfigured(
                f"Nothing provides {self.name}: add {self.provider!r} to INSTALLED_APPS."
            )
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Provided {self.name} by {self.provider}>"
