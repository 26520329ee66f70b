"""Domain errors of the tenant lifecycle."""

from django.utils.translation import gettext as _

from market.errors import DomainError

# Codes that mean "the current state conflicts" (409), not "your input is wrong" (422).
CONFLICT_CODES = frozenset(
    {
        "already_subscribed",
        "illegal_transition",
        "already_revealed",
        "not_failed",
        "already_scheduled",
    }
)


class LifecycleError(DomainError):
    """A lifecycle request cannot be carried out; the message says what to change.

    `field` names the input at fault, when one is, so forms and the API can show it there.
    `code` picks the problem: a conflict code answers 409 with its own type, any other 422.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message, field=field)
        self.code = code

    @property
    def is_conflict(self) -> bool:
        return self.code in CONFLICT_CODES

    @property
    def status(self) -> int:
        return 409 if self.is_conflict else 422

    @property
    def slug(self) -> str:
        return "lifecycle-refused" if self.code == "invalid" else self.code.replace("_", "-")

    @property
    def title(self) -> str:
        return _("Conflicts with the current state") if self.is_conflict else _("Request refused")
