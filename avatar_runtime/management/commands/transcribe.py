"""``manage.py transcribe FILE.wav... [--lang LANG] --json``: the kiosk's recogniser on recordings.

So operators can check recognition on their own recordings: each file is heard as one customer
utterance by the recogniser a kiosk session gets (``factory.recognizer``: SenseVoice when its
model is provisioned, else Whisper), with the language forced by ``--lang`` or detected. Every
file is tried; a file that cannot be read is reported and makes the command exit non-zero.
"""
import json
from pathlib import Path
from typing import Any

import soundfile as sf
from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.audio import read_wav
from avatar_runtime.errors import ProviderError
from avatar_runtime.pipeline.messages import Samples
from common.languages import KIOSK_LANGUAGES

# One utterance: Whisper reads a 30 s window and would silently drop the rest of a longer file.
MAX_SECONDS = 30.0


class Unreadable(Exception):
    pass


def read_utterance(path: Path) -> tuple[Samples, int]:
    """The file's audio, or ``Unreadable`` saying in words why it cannot be heard."""
    if not path.exists():
        raise Unreadable("no such file")
    if not path.is_file():
        raise Unreadable("not a file")
    try:
        samples, rate = read_wav(path)
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        raise Unreadable(f"not a readable audio file ({exc})") from exc
    if not len(samples):
        raise Unreadable("the file holds no audio")
    if len(samples) / rate > MAX_SECONDS:
        raise Unreadable(f"{len(samples) / rate:.0f} s long; one utterance of at most {MAX_SECONDS:.0f} s per file")
    return samples, rate


class Command(BaseCommand):
    help = "Transcribe recordings (one utterance each) with the kiosk's speech recogniser."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, help="Audio files (WAV, FLAC, OGG ...).")
        parser.add_argument("--lang", choices=KIOSK_LANGUAGES, help="Hear the files in this language (default: detect).")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        results: list[dict[str, Any]] = []
        audio: dict[int, tuple[Samples, int]] = {}
        for index, path in enumerate(options["files"]):
            results.append({"file": str(path)})
            try:
                audio[index] = read_utterance(path)
            except Unreadable as exc:
                results[index]["error"] = str(exc)
        if audio:
            self._transcribe(results, audio, options["lang"])
        self._print(results, options["json"])
        failed = sum("error" in result for result in results)
        if failed:
            raise CommandError(f"{failed} of {len(results)} file(s) could not be transcribed")

    def _transcribe(self, results: list[dict[str, Any]], audio: dict[int, tuple[Samples, int]], language: str | None) -> None:
        from avatar_runtime.factory import recognizer

        try:
            rec = recognizer()
        except ProviderError as exc:
            raise CommandError(f"No speech recogniser: {exc}") from exc
        for index, (samples, rate) in audio.items():
            try:
                heard = rec.transcribe(samples, rate, language=language)
            except ProviderError as exc:
                results[index]["error"] = str(exc)
                continue
            results[index].update(text=heard.text, language=heard.language, confidence=round(heard.confidence, 3),
                                  seconds=round(len(samples) / rate, 2), recognizer=rec.name)

    def _print(self, results: list[dict[str, Any]], as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(results, ensure_ascii=False, indent=2))
            return
        for result in results:
            if "error" in result:
                self.stderr.write(f"{result['file']}: {result['error']}")
            else:
                self.stdout.write(f"{result['file']}: [{result['language'] or '?'} {result['confidence']:.2f}] {result['text']}")
