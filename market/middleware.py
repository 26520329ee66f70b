"""Response headers the market adds to every page."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Sets a strict Content-Security-Policy: every asset is served by the market itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Swagger UI and Redoc (served from the sidecar package) need inline bootstrapping.
        if not request.path.startswith("/api/docs") and not request.path.startswith("/api/redoc"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class KoreanByDefaultMiddleware:
    """Portal pages are Korean until the person picks English with the header switch.

    Django's LocaleMiddleware would follow the browser's Accept-Language first; the market's
    default is Korean for everyone, so the header is ignored on portal pages. The language
    cookie set by the switch still wins. The API keeps Accept-Language for integrators.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
