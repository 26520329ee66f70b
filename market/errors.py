"""The one base class of the market's domain errors.

A domain error is a request the market refuses for a reason a person can act on. Each app
raises its own subclass (`TokenError`, `RegistrationError`, `LifecycleError`, ...) and says,
through three attributes, which RFC 9457 problem the API answers with:

- `status`: the HTTP status (422 unless the subclass says otherwise),
- `slug`: the last segment of the problem's type URI (`https://market.example/problems/<slug>`),
- `title`: the problem's short, translated title.

`market.api.problems` maps this base class only, so the core never imports the apps above it.
A subclass whose status, type or title depends on the error overrides them as properties, and
overrides `problem_detail()` / `problem_errors()` when its body says more than one message.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A request the market cannot carry out; `message` says what to change."""

    status: int = 422
    slug: str = "unprocessable"
    title = _("Request refused")

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def problem_detail(self) -> str:
        """The problem's `detail`: the message, unless the subclass summarises several."""
        return self.message

    def problem_errors(self) -> list[dict]:
        """The problem's `errors` items: by default the message under the field at fault."""
        return [{"field": self.field, "message": self.message}]
