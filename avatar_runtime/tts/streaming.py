"""Turning a backend's blocking synthesis into the streamed chunks the pipeline plays.

Neural voices produce a sentence (or a clause) at a time; each piece is computed in a worker
thread, so the event loop never blocks, and handed on in chunks of at most ``MAX_CHUNK_S`` so
playback and lip-sync start before the whole sentence is done.
"""
from collections.abc import AsyncIterator, Callable, Iterator

from avatar_runtime.audio import as_samples, split
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.tts.base import SpeechChunk

MAX_CHUNK_S = 0.5


def chunks_of(samples: Samples, sample_rate: int, max_seconds: float = MAX_CHUNK_S) -> Iterator[SpeechChunk]:
    for piece in split(as_samples(samples), max(1, int(max_seconds * sample_rate))):
        yield SpeechChunk(samples=piece, sample_rate=sample_rate)


async def stream_in_thread(pieces: Callable[[], Iterator[Samples]], sample_rate: int) -> AsyncIterator[SpeechChunk]:
    """Run the blocking generator ``pieces()`` in a worker thread, one piece per hop, and stream it.

    Cancelling the consumer stops the generator after the piece being computed.
    """
    iterator = await in_inference_thread(pieces)
    while True:
        piece: Samples | None = await in_inference_thread(next, iterator, None)
        if piece is None:
            return
        for chunk in chunks_of(piece, sample_rate):
            yield chunk
