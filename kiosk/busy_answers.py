"""Typed questions answered in captions while no avatar worker has room for the kiosk.

A kiosk told "busy" still has the knowledge base: the web process answers a typed question with
the same extractive answer the avatar would speak (the top FAQ's answer in the kiosk's language,
or the polite decline), shown as captions, and keeps both turns in the transcript, so a
supervisor sees what was asked and answered while the kiosk waited for room. Voice and face come
back when a worker takes the kiosk.
"""
import uuid
from dataclasses import dataclass

from avatar_runtime.llm.extractive import extractive_text
from conversations.services import conversation_end, conversation_start, transcript_turn_append
from knowledgebase.runtime_retrieval import retrieve

RETRIEVAL_K = 3
ANSWER_BACKEND = "busy-captions"


@dataclass(frozen=True)
class BusyAnswer:
    conversation_id: uuid.UUID
    text: str
    answerable: bool


def busy_answer(*, kiosk_id: int, conversation_id: uuid.UUID | None, question: str, language: str) -> BusyAnswer:
    """Answer ``question`` from the knowledge base and record both turns (blocking: call in a thread).

    ``conversation_id`` continues the transcript of earlier captioned answers while busy (None: a new one).
    """
    retrieved = retrieve(question, language, RETRIEVAL_K)
    answer = extractive_text(language, retrieved)
    conversation_id = conversation_id or uuid.uuid4()
    conversation_start(public_id=conversation_id, kiosk_id=kiosk_id, language=language)
    transcript_turn_append(conversation_id=conversation_id, turn_id=uuid.uuid4(), role="customer",
                           fields={"text": question, "language": language, "complete": True})
    transcript_turn_append(conversation_id=conversation_id, turn_id=uuid.uuid4(), role="avatar", fields={
        "text": answer, "language": language, "answerable": retrieved.answerable, "complete": True,
        "retrieved": [{"key": p.key, "score": round(p.score, 4)} for p in retrieved.passages],
        "answer_backend": ANSWER_BACKEND,
    })
    # Nothing stays open while the kiosk waits: a later question while busy is added to this record.
    conversation_end(public_id=conversation_id, reason="busy_captions")
    return BusyAnswer(conversation_id, answer, retrieved.answerable)
