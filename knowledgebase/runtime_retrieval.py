"""The knowledge base in the avatar runtime's terms: its retrieval protocol (``SessionBackends.retrieve``)
and the venue vocabulary for the recogniser (``avatar_runtime.asr.prompt.Vocabulary``)."""
from avatar_runtime.llm.base import Passage, Retrieved
from knowledgebase.selectors import faq_search
from knowledgebase.vocabulary import venue_terms

__all__ = ["retrieve", "venue_terms"]


def retrieve(query: str, language: str, k: int, *, include_drafts: bool = False) -> Retrieved:
    """The knowledge base's hybrid search, in the runtime's terms (blocking: call in a thread);
    ``include_drafts`` only for the console's "try it"."""
    result = faq_search(query, language, k, include_drafts=include_drafts)
    passages = [
        Passage(key=hit.key, score=hit.score, question=hit.question, answer=hit.answer, language=hit.language,
                translations=dict(hit.translations))
        for hit in result.results
    ]
    return Retrieved(answerable=result.answerable, passages=passages)
