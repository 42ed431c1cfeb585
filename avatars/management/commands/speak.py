"""``manage.py speak --lang LANG --out FILE.wav "TEXT"``: the kiosk's voice for a language, into a WAV file.

The voice chain is the one a kiosk session gets (``avatars.voices.voice_book_from_settings``): the voice
configured for the language, its offline fallback, espeak-ng last; a network voice that cannot be
reached hands the text to the offline voice as it would mid-answer.
"""
import asyncio
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from avatar_runtime.audio import write_wav
from avatar_runtime.errors import ProviderError
from common.languages import KIOSK_LANGUAGES
from common.text import text_problem


class Command(BaseCommand):
    help = "Speak TEXT with the voice a kiosk uses for --lang (with its fallbacks) and write it as a WAV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", help="What to say.")
        parser.add_argument("--lang", required=True, choices=KIOSK_LANGUAGES, help="The kiosk language to speak.")
        parser.add_argument("--out", type=Path, required=True, help="Where to write the speech (16-bit mono WAV).")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        from avatar_runtime.tts.utterance import utterance_synthesize
        from avatars.voices import voice_book_from_settings

        text, out = options["text"].strip(), options["out"]
        if not text:
            raise CommandError("There is nothing to say.")
        if problem := text_problem(text):
            raise CommandError(f"The text has {problem}.")
        if not out.parent.is_dir():
            raise CommandError(f"{out.parent}: no such directory")
        try:
            voices = voice_book_from_settings()
        except DatabaseError as exc:
            raise CommandError(f"Cannot read the voice settings ({exc}); run `python manage.py migrate`.") from exc
        synthesizer, voice = voices.synthesizer(options["lang"])
        try:
            utterance = asyncio.run(utterance_synthesize(synthesizer, text, voice))
        except ProviderError as exc:
            raise CommandError(f"No voice could speak this: {exc}") from exc
        if not len(utterance.samples):
            raise CommandError(f"{utterance.voice.backend} {utterance.voice.name} produced no audio for this text.")
        write_wav(out, utterance.samples, utterance.sample_rate)
        result = {
            "file": str(out), "language": options["lang"], "backend": utterance.voice.backend,
            "voice": utterance.voice.name, "seconds": round(utterance.seconds, 2),
            "first_audio_ms": round(utterance.first_audio_s * 1000), "real_time_factor": round(utterance.real_time_factor, 3),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"{out}: {result['seconds']} s spoken by {result['backend']} {result['voice']} "
                              f"(first audio {result['first_audio_ms']} ms, real-time factor {result['real_time_factor']})")
