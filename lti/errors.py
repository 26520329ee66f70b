"""Domain errors of the LTI platform."""


class LtiError(Exception):
    """An LTI request the market refuses; the message says what to do instead.

    ``code`` is machine-readable (the OAuth 2 / OIDC error code where one fits), ``status`` the
    HTTP status the views answer with.
    """

    def __init__(self, message: str, *, code: str = "invalid_request", status: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
