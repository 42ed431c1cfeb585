"""``manage.py converse --audio question.wav``: one full turn offline, for demos and checks.

VAD → ASR → retrieval → answer → TTS → renderer through the real session pipeline (in real
time, as a kiosk would see it); writes the answer as an mp4 and prints the transcript and the
per-stage timings.
"""
import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.audio import read_wav, resample
from common.languages import KIOSK_LANGUAGES


class Command(BaseCommand):
    help = "Run one conversation turn from a WAV file and write the avatar's answer as an mp4."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--audio", type=Path, required=True, help="The customer's question (WAV).")
        parser.add_argument("--lang", default="auto", help=f"auto or one of {', '.join(KIOSK_LANGUAGES)}")
        parser.add_argument("--out", type=Path, help="Where to write the answer mp4.")
        parser.add_argument("--kiosk", type=int, help="Kiosk id (default: the first kiosk).")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument("--timeout", type=float, default=60.0, help="Give up after this many seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["audio"].is_file():
            raise CommandError(f"{options['audio']}: no such file")
        if options["lang"] != "auto" and options["lang"] not in KIOSK_LANGUAGES:
            raise CommandError(f"--lang must be auto or one of {', '.join(KIOSK_LANGUAGES)}")
        try:
            samples, rate = read_wav(options["audio"])
        except Exception as exc:  # any decoder error means the user's file is unreadable
            raise CommandError(f"{options['audio']}: not a readable WAV file ({exc})") from exc
        result = asyncio.run(self._converse(resample(samples, rate, 16000), options))
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            for turn in result["turns"]:
                self.stdout.write(f"{turn['role']:8} [{turn['language']}] {turn['text']}")
            self.stdout.write("timings (ms): " + ", ".join(f"{k}={v}" for k, v in result["timings_ms"].items()))
            if result["clip"]:
                self.stdout.write(f"answer clip: {result['clip']}")

    async def _converse(self, samples: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
        from channels.db import database_sync_to_async

        from avatar_runtime.render.clip import write_clip
        from kiosk.models import Kiosk
        from kiosk.session_factory import session_factory

        kiosk_id = options["kiosk"] or await database_sync_to_async(
            lambda: Kiosk.objects.order_by("id").values_list("id", flat=True).first()
        )()
        if kiosk_id is None:
            raise CommandError("No kiosk configured: run python manage.py load_demo first.")
        session = await session_factory(f"converse-{uuid.uuid4().hex[:8]}", kiosk_id)
        if options["lang"] != "auto":
            session.set_language(options["lang"])
        frames = []

        async def collect() -> None:
            async for frame in session.frames():
                frames.append(frame)

        await session.start()
        collector = asyncio.get_running_loop().create_task(collect())
        try:
            silence = np.zeros(int(0.8 * 16000), np.float32)
            session.push_audio(np.concatenate([silence, samples.astype(np.float32), silence]))
            await asyncio.wait_for(session.turn_finished.wait(), options["timeout"])
        except TimeoutError as exc:
            raise CommandError("No answer within the timeout: was there speech in the file?") from exc
        finally:
            conversation_id = session.conversation_id
            metrics = session.metrics
            collector.cancel()
            await session.close("converse_done")
        speaking = [f for f in frames if f.speaking]
        clip = None
        if options["out"] and speaking:
            audio = np.concatenate([f.audio for f in speaking])
            clip = str(write_clip(options["out"], [f.image for f in speaking], audio, 25, speaking[0].sample_rate))
        turns = await database_sync_to_async(_turns)(conversation_id)
        timings = {k: round(v * 1000, 1) for k, v in (metrics.turns[-1] if metrics.turns else {}).items()}
        return {"conversation": str(conversation_id), "turns": turns, "timings_ms": timings, "clip": clip,
                "models_dir": str(settings.MODELS_DIR)}


def _turns(conversation_id: uuid.UUID | None) -> list[dict[str, Any]]:
    from conversations.models import Turn

    if conversation_id is None:
        return []
    return [
        {"role": t.role, "language": t.language, "text": t.text, "asr_confidence": t.asr_confidence,
         "retrieved": t.retrieved, "answerable": t.answerable, "interrupted": t.interrupted}
        for t in Turn.objects.filter(conversation__public_id=conversation_id).order_by("index")
    ]
