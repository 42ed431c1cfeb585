"""The kiosk page customers see."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from common.languages import LANGUAGE_NAMES
from kiosk.selectors import kiosk_default


def kiosk_page(request: HttpRequest) -> HttpResponse:
    kiosk = kiosk_default()
    languages = [(code, LANGUAGE_NAMES[code]) for code in (kiosk.languages if kiosk else LANGUAGE_NAMES)]
    return render(request, "kiosk/page.html", {"kiosk": kiosk, "languages": languages})
