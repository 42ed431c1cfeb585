"""Spoken previews: a WAV of any short text in a language's configured voice (or a voice being tried).

Nothing fails silently: an error answers with its status and a plain-text message the console
shows, and audio spoken by a fallback says so in ``X-Voice-Fallback`` (why the voice asked for did
not speak, percent-encoded UTF-8), beside ``X-Spoken-By`` (``backend/voice`` that spoke).
"""
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from avatars.voices import VoiceData, speech_synthesize
from common.errors import ApplicationError
from common.roles import Role, role_required


def _voice_override(request: HttpRequest) -> VoiceData | None:
    """``backend``/``voice``/``rate``/``pitch``/``fallback_backend``/``fallback_voice``: a voice not saved yet."""
    if not request.GET.get("backend"):
        return None
    try:
        rate, pitch = float(request.GET.get("rate", "1")), float(request.GET.get("pitch", "0"))
    except ValueError as exc:
        raise ApplicationError("voice_invalid", _("Rate and pitch must be numbers.")) from exc
    return VoiceData(request.GET["backend"], request.GET.get("voice", ""), rate, pitch,
                     request.GET.get("fallback_backend", "espeak"), request.GET.get("fallback_voice", ""))


@role_required(Role.STAFF)
@require_GET
def speech_view(request: HttpRequest) -> HttpResponse:
    try:
        spoken = speech_synthesize(text=request.GET.get("text", ""), language=request.GET.get("language", ""),
                                   data=_voice_override(request))
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(spoken.wav, content_type="audio/wav")
    response["X-Spoken-By"] = f"{spoken.spoken_by}/{spoken.voice}"
    if spoken.fallback_reason:
        response["X-Voice-Fallback"] = quote(spoken.fallback_reason)
    response["Cache-Control"] = "private, max-age=300"
    return response
