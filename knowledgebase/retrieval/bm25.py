"""Okapi BM25 over lexical terms, with postings as numpy arrays so a query costs microseconds."""
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

K1 = 1.2
B = 0.75


class Bm25:
    """An inverted index over documents given as term lists (see ``text.lexical_terms``)."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        self.size = len(documents)
        lengths = np.array([len(terms) for terms in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.size and lengths.sum() else 1.0
        length_norm = K1 * (1 - B + B * lengths / average)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for doc_id, terms in enumerate(documents):
            for term, count in Counter(terms).items():
                ids, counts = postings.setdefault(term, ([], []))
                ids.append(doc_id)
                counts.append(count)
        self._postings: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}
        self._idf: dict[str, float] = {}
        for term, (ids, counts) in postings.items():
            doc_ids = np.array(ids, dtype=np.int64)
            tf = np.array(counts, dtype=np.float32)
            self._postings[term] = (doc_ids, (tf * (K1 + 1) / (tf + length_norm[doc_ids])).astype(np.float32))
            self._idf[term] = math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))

    def idf(self, term: str) -> float:
        """IDF of ``term``, or that of a term seen in no document for unknown ones."""
        return self._idf.get(term, math.log(1 + (self.size + 0.5) / 0.5))

    def __contains__(self, term: str) -> bool:
        return term in self._postings

    def scores(self, terms: Iterable[str]) -> npt.NDArray[np.float32]:
        """BM25 of every document for the query ``terms`` (each distinct term counted once)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(terms):
            posting = self._postings.get(term)
            if posting is not None:
                doc_ids, weights = posting
                out[doc_ids] += self._idf[term] * weights
        return out

    def self_score(self, terms: Iterable[str]) -> float:
        """What a document holding each query term once, at average length, would score: the
        scale that turns a BM25 score into "share of the query matched"."""
        return sum(self._idf[term] for term in set(terms) if term in self._idf)
