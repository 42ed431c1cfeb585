"""Voices: the voice per language, with a preview that speaks a sample sentence."""
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from avatar_runtime.tts.edge_catalogue import edge_catalogue
from avatar_runtime.tts.registry import OFFLINE_VOICES
from avatars.answer_audio import LanguageCacheStatus, answer_audio_enqueue, answer_audio_status
from avatars.models import VoiceSetting
from avatars.voices import (
    PITCH_RANGE,
    RATE_RANGE,
    SAMPLE_SENTENCES,
    VOICE_BACKENDS,
    VoiceData,
    voice_names,
    voice_setting_update,
    voice_settings,
)
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES, LANGUAGE_NAMES
from common.roles import Role, role_required

_OFFLINE_BACKENDS = [b for b in VOICE_BACKENDS if b != "edge"]


class VoiceForm(forms.Form):
    backend = forms.ChoiceField(label=gettext_lazy("Backend"), choices=[(b, b) for b in VOICE_BACKENDS])
    voice_name = forms.CharField(label=gettext_lazy("Voice"), max_length=100)
    rate = forms.FloatField(label=gettext_lazy("Rate"), min_value=RATE_RANGE[0], max_value=RATE_RANGE[1],
                            widget=forms.NumberInput(attrs={"step": "0.05"}))
    pitch = forms.FloatField(label=gettext_lazy("Pitch (semitones)"), min_value=PITCH_RANGE[0], max_value=PITCH_RANGE[1],
                             widget=forms.NumberInput(attrs={"step": "0.5"}))
    fallback_backend = forms.ChoiceField(label=gettext_lazy("Fallback backend"), choices=[(b, b) for b in _OFFLINE_BACKENDS])
    fallback_voice_name = forms.CharField(label=gettext_lazy("Fallback voice"), max_length=100, required=False)

    def __init__(self, language: str, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", language)
        super().__init__(*args, **kwargs)
        self.language = language
        # Each voice field suggests the voices of the backend chosen beside it (console.js
        # switches the list when the backend changes): only voices for this language.
        for backend_field, name_field in (("backend", "voice_name"), ("fallback_backend", "fallback_voice_name")):
            backend = (self.data.get(self.add_prefix(backend_field)) if self.is_bound
                       else self.initial.get(backend_field)) or ""
            self.fields[name_field].widget.attrs["list"] = f"voices-{language}-{backend}"
            self.fields[backend_field].widget.attrs.update({
                "data-list-for": f"id_{self.add_prefix(name_field)}", "data-list-prefix": f"voices-{language}-"})

    def data_(self) -> VoiceData:
        d = self.cleaned_data
        return VoiceData(d["backend"], d["voice_name"], d["rate"], d["pitch"], d["fallback_backend"], d["fallback_voice_name"])


def _initial(language: str, row: VoiceSetting | None) -> dict[str, object]:
    if row is None:
        offline = OFFLINE_VOICES[language]
        return {"backend": offline.backend, "voice_name": offline.name, "rate": 1.0, "pitch": 0.0,
                "fallback_backend": "espeak", "fallback_voice_name": ""}
    return {"backend": row.backend, "voice_name": row.voice_name, "rate": row.rate, "pitch": row.pitch,
            "fallback_backend": row.fallback_backend, "fallback_voice_name": row.fallback_voice_name}


def _card(language: str, form: VoiceForm, cache: LanguageCacheStatus | None = None) -> dict[str, Any]:
    known = {backend: voice_names(backend, language) for backend in VOICE_BACKENDS}
    return {"language": language, "name": LANGUAGE_NAMES[language], "form": form, "sample": SAMPLE_SENTENCES[language],
            "known": known, "cache": cache}


def _cards(rows: dict[str, VoiceSetting | None], bound: VoiceForm | None = None) -> list[dict[str, Any]]:
    caches = {status.language: status for status in answer_audio_status()}
    return [_card(code, bound if bound is not None and bound.language == code
                  else VoiceForm(code, initial=_initial(code, rows[code])), caches.get(code))
            for code in KIOSK_LANGUAGES]


@role_required(Role.STAFF)
@require_GET
def voice_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "console/voices/list.html", {"cards": _cards(voice_settings()), "edge": edge_catalogue()})


@role_required(Role.STAFF)
@require_POST
def voice_update_view(request: HttpRequest, language: str) -> HttpResponse:
    if language not in KIOSK_LANGUAGES:
        raise Http404
    form = VoiceForm(language, request.POST)
    if form.is_valid():
        try:
            voice_setting_update(language=language, data=form.data_(), user=request.user)
        except ApplicationError as exc:
            field_errors = exc.extra.get("errors")
            for field, message in (field_errors.items() if isinstance(field_errors, dict) else [(None, exc.message)]):
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("%(language)s voice saved.") % {"language": LANGUAGE_NAMES[language]})
            return redirect(f"{reverse('console:voice_list')}#voice-{language}")
    return render(request, "console/voices/list.html", {"cards": _cards(voice_settings(), form), "edge": edge_catalogue()},
                  status=400)


@role_required(Role.STAFF)
@require_POST
def voice_cache_rebuild_view(request: HttpRequest, language: str) -> HttpResponse:
    """Queue the answer audio cache job for ``language`` (it speaks what is missing, drops what is stale)."""
    if language not in KIOSK_LANGUAGES:
        raise Http404
    answer_audio_enqueue(languages=[language])
    messages.success(request, _("Rebuilding the %(language)s answer audio.") % {"language": LANGUAGE_NAMES[language]})
    return redirect(f"{reverse('console:voice_list')}#voice-{language}")
