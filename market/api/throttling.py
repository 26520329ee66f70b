"""Rate limits per token (or per session user), answered with 429 and Retry-After."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from market.models import ApiToken


class ApiTokenRateThrottle(SimpleRateThrottle):
    """One bucket per token, per logged-in user, or per address for anonymous calls.

    The buckets live in Django's cache: with several web processes, give them a shared cache
    (CACHES), or each process counts on its own.
    """

    scope = "api"

    def get_rate(self):
        # Read the rate on every request (not once at import) so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
