"""Domain errors of the tenant lifecycle."""


class LifecycleError(Exception):
    """A lifecycle request cannot be carried out; the message says what to change.

    `field` names the input at fault, when one is, so forms and the API can show it there.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
