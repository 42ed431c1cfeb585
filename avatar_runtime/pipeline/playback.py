"""What the customer has actually heard of the answer being spoken.

The session appends each sentence's audio as it is synthesised and counts the speaking frames
that leave for the kiosk. From those two it knows which sentence is playing (for captions),
the text heard so far (for the transcript after a barge-in) and the audio not yet played
(to resume after a false alarm).
"""
from dataclasses import dataclass

import numpy as np

from avatar_runtime.pipeline.messages import Samples


@dataclass
class SpokenSentence:
    text: str
    start: int  # sample offset in the answer's audio
    length: int


class Playback:
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.sentences: list[SpokenSentence] = []
        self._chunks: list[Samples] = []
        self.total = 0  # samples synthesised
        self.played = 0  # samples sent to the kiosk
        self.finished_synthesis = False
        self.first_frame_at: float | None = None  # session clock time the first speaking frame left
        self.voice_samples: dict[str, int] = {}  # samples synthesised per voice ("backend:name")

    def add_sentence(self, text: str) -> None:
        self.sentences.append(SpokenSentence(text, self.total, 0))

    def add_audio(self, samples: Samples, voice: str = "") -> None:
        self._chunks.append(samples)
        self.total += len(samples)
        if voice:
            self.voice_samples[voice] = self.voice_samples.get(voice, 0) + len(samples)
        if self.sentences:
            self.sentences[-1].length += len(samples)

    def advance(self, samples: int) -> list[SpokenSentence]:
        """Count ``samples`` as played; return the sentences that just started playing."""
        before = self.played
        self.played = min(self.total, self.played + samples)
        return [s for s in self.sentences if before <= s.start < self.played]

    @property
    def played_seconds(self) -> float:
        return self.played / self.sample_rate

    @property
    def queued_seconds(self) -> float:
        """Speech synthesised and not yet played: how long the listener is covered."""
        return (self.total - self.played) / self.sample_rate

    @property
    def done(self) -> bool:
        return self.finished_synthesis and self.played >= self.total

    def unplayed_audio(self) -> Samples:
        if not self._chunks:
            return np.zeros(0, np.float32)
        return np.concatenate(self._chunks)[self.played:]

    def heard_text(self) -> str:
        """Sentences heard in full, plus the heard fraction of the one cut off (by characters)."""
        parts: list[str] = []
        for sentence in self.sentences:
            if sentence.length and self.played >= sentence.start + sentence.length:
                parts.append(sentence.text)
            elif sentence.length and self.played > sentence.start:
                fraction = (self.played - sentence.start) / sentence.length
                cut = int(len(sentence.text) * fraction)
                if cut:
                    parts.append(sentence.text[:cut] + "…")
                break
            else:
                break
        return " ".join(parts)

    def spoken_voice(self) -> str:
        """The voice that spoke the answer: the one that spoke most of it when a fallback took over
        part-way (a lip-sync score is about the clip as a whole); "" before any audio."""
        return max(self.voice_samples, key=self.voice_samples.__getitem__, default="")

    def full_text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def current_sentences(self, count: int = 2) -> list[str]:
        """The sentence playing now and the one before: what an echo would repeat."""
        playing = [s for s in self.sentences if s.start <= self.played]
        return [s.text for s in playing[-count:]]
