"""`Authorization: Bearer <token>` for integrators; the browser keeps its CSRF-checked session."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from market.models import ApiToken
from market.tokens import authenticate_token

INVALID_TOKEN = _("The token is unknown, expired or revoked.")


class TokenOnlyUser(AnonymousUser):
    """`request.user` for a token whose creator is gone (e.g. made by `create_api_token`)."""

    def __init__(self, token: ApiToken):
        super().__init__()
        self.token = token

    @property
    def is_authenticated(self):
        return True

    def __str__(self):
        return f"api-token:{self.token.prefix}"


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates `Authorization: Bearer smk_...`; any other scheme is left to the next class."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Malformed Authorization header: use `Bearer <token>`."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(INVALID_TOKEN) from None
        token = authenticate_token(raw)
        if token is None:
            raise AuthenticationFailed(INVALID_TOKEN)
        return (token.created_by or TokenOnlyUser(token), token)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
