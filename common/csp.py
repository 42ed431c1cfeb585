"""Content-Security-Policy for every response: scripts, styles, media and connections from this site only.

Scripts run only from this origin's files, or inline with the per-request nonce
(``request.csp_nonce``, for the few ``<script>`` tags that hand server data to a page); no
``unsafe-inline`` or ``unsafe-eval``. ``<style>`` elements follow the same rule; ``style``
attributes stay allowed (``style-src-attr``) because console templates set geometry that the
server computes (progress bars, the face and mouth boxes, chart swatches) and attributes cannot
run code. The kiosk page needs its WebSocket (``connect-src``, same host, ws: or wss:), video
and audio from this site or from ``blob:``/``mediastream:`` objects it makes, and ``blob:`` and
``data:`` images (the media fallback's frames, Swagger UI's icons). WebRTC is not governed by
these directives. Django 5.2 has no CSP of its own; a response that already carries a policy
keeps it.
"""
import secrets
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def content_security_policy(*, nonce: str, host: str | None) -> str:
    # CSP3 lets 'self' cover ws:/wss: on the same host; older browsers need the host spelled out.
    sockets = f" ws://{host} wss://{host}" if host else ""
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": f"'self' 'nonce-{nonce}'",
        "style-src-attr": "'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "media-src": "'self' blob: mediastream:",
        "connect-src": f"'self'{sockets}",
        "font-src": "'self' data:",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]  # read by templates as request.csp_nonce
        response = self.get_response(request)
        if HEADER not in response:
            try:
                host: str | None = request.get_host()
            except DisallowedHost:
                host = None
            response[HEADER] = content_security_policy(nonce=nonce, host=host)
        return response
