"""The kiosk page customers see, and the pairing screen an unpaired browser gets instead."""
from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from common.client_address import client_address
from common.errors import ApplicationError
from common.languages import NATIVE_NAMES, ui_locale
from kiosk.pairing import TOKEN_COOKIE, kiosk_for_token
from kiosk.pairing_guard import kiosk_pair_attempt
from kiosk.ui_strings import kiosk_ui_strings

TOKEN_MAX_AGE = 365 * 24 * 3600


def kiosk_page(request: HttpRequest) -> HttpResponse:
    kiosk = kiosk_for_token(request.COOKIES.get(TOKEN_COOKIE))
    if kiosk is None:
        return render(request, "kiosk/pair.html", {"code": request.GET.get("code", "")})
    languages = [(code, NATIVE_NAMES[code], ui_locale(code)) for code in kiosk.languages if code in NATIVE_NAMES]
    return render(request, "kiosk/page.html", {
        "kiosk": kiosk, "languages": languages, "default_language": kiosk.default_language,
        "greetings": kiosk.greetings, "ui_strings": kiosk_ui_strings(list(kiosk.languages)),
        "handoff_shown_minutes": settings.HANDOFF_ACCEPTED_SHOWN_MINUTES,
    })


def kiosk_avatar_still(request: HttpRequest) -> FileResponse:
    """The paired kiosk's avatar photo, shown until the first video frame arrives."""
    kiosk = kiosk_for_token(request.COOKIES.get(TOKEN_COOKIE))
    if kiosk is None or kiosk.avatar is None or not kiosk.avatar.source:
        raise Http404
    return FileResponse(kiosk.avatar.source.open("rb"))


@require_http_methods(["GET", "POST"])
def kiosk_pair_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "kiosk/pair.html", {"code": request.GET.get("code", "")})
    try:
        _kiosk, token = kiosk_pair_attempt(code=request.POST.get("code", ""), address=client_address(request))
    except ApplicationError as exc:
        refused = render(request, "kiosk/pair.html", {"error": exc.message, "code": ""}, status=exc.status)
        if "retry_after" in exc.extra:
            refused["Retry-After"] = str(exc.extra["retry_after"])
        return refused
    response = redirect("kiosk:page")
    response.set_cookie(TOKEN_COOKIE, token, max_age=TOKEN_MAX_AGE, httponly=True, samesite="Strict",
                        secure=settings.PRODUCTION)
    return response
