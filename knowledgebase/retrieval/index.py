"""The in-memory search index: one normalised vector per phrasing, BM25 postings, and the
ranking that fuses them.

A *group* is what search returns: an FAQ entry (all its translations) or one document
chunk. Each group holds *items* (an FAQ translation, or the chunk), and each item holds
vector *rows*: the question and every alternate ("phrasings"), then the answer (a
"passage"; a chunk is a passage only). A group's dense score is its best row, a passage
row counting ``passage_offset`` less because a customer's question resembles another
question more than it resembles an answer. A document chunk has no question to match, so its
passage row counts ``document_offset`` more: the usual gap between a question's similarity
to its FAQ's questions and to its answer, less a margin that lets the FAQ win a tie. A row
in another language than the query's counts ``cross_language_bonus`` more because even after
``languages`` removes each language's direction, a same-language text keeps an edge over the
right answer in another language.

An FAQ translation also has a *summary* vector: all its phrasings embedded as one text. One
phrasing can match a question by accident (a shared word, the same sentence frame); the
summary says what the phrasings have in common, the topic, and matches a paraphrase in
another language better than any single phrasing does. The group's dense score mixes its
best row with its best summary (``summary_weight``; a chunk's summary is its row).

A group's lexical score is its best item's BM25 share of the query. The two are fused as a
weighted sum (weights in ``calibration.json``).
"""
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from knowledgebase.retrieval.bm25 import Bm25
from knowledgebase.retrieval.decision import Features, FusionParams
from knowledgebase.retrieval.encoder import Vectors
from knowledgebase.retrieval.languages import LanguageCentroids
from knowledgebase.retrieval.text import lexical_terms

ANSWER_FIELD_WEIGHT = 0.3  # an answer's words count less than the question's own words
CANDIDATES = 50


@dataclass(frozen=True)
class IndexItem:
    """One searchable text unit, as loaded from the database."""

    kind: Literal["faq", "doc"]
    group: str  # the FAQ key, or "doc:<document id>#<position>"
    language: str
    question: str  # for a chunk: its section heading, or the document's title
    answer: str  # for a chunk: its text
    alternates: tuple[str, ...] = ()
    vectors: Vectors | None = None  # raw embeddings in ``vector_texts`` order, or None
    heading: str = ""  # for a chunk: its section heading, embedded with it (a title is too vague to)

    def vector_texts(self) -> list[str]:
        """The texts embedded for this item, in the stored order: for an FAQ translation its
        question, alternates, answer, then the summary (all the phrasings as one text)."""
        if self.kind == "doc":  # the heading says what the chunk is about
            return [f"{self.heading}\n{self.answer}" if self.heading else self.answer]
        return [self.question, *self.alternates, self.answer, " / ".join((self.question, *self.alternates))]


@dataclass(frozen=True)
class Candidate:
    group: int
    score: float
    dense: float
    lexical: float
    item: int  # the item to show: the query's language when the group has it, else the best match


@dataclass(frozen=True)
class Ranking:
    candidates: list[Candidate]
    features: Features | None  # about candidates[0]; None when nothing matched at all


class SearchIndex:
    """Immutable once built; a new one replaces it when the knowledge base changes."""

    def __init__(self, items: list[IndexItem], centroids: LanguageCentroids | None,
                 out_of_scope: tuple[Vectors, list[str]] | None = None) -> None:
        """``out_of_scope``: raw query embeddings of ``out_of_scope.OUT_OF_SCOPE_EXAMPLES`` and
        their languages (the ``scope`` feature is 0 without them)."""
        self.items = sorted(items, key=lambda item: (item.kind, item.group, item.language))
        self.centroids = centroids
        self.out_of_scope = np.zeros((0, 0), dtype=np.float32)
        if out_of_scope is not None and centroids is not None and len(out_of_scope[0]):
            vectors, languages = out_of_scope
            self.out_of_scope = np.stack([centroids.center_query(v, language) for v, language in zip(vectors, languages,
                                                                                                    strict=True)])
        self.groups: list[str] = []
        self.group_kind: list[str] = []
        self.group_items: list[list[int]] = []
        item_group: list[int] = []
        for index, item in enumerate(self.items):
            if not self.groups or self.groups[-1] != item.group:
                self.groups.append(item.group)
                self.group_kind.append(item.kind)
                self.group_items.append([])
            self.group_items[-1].append(index)
            item_group.append(len(self.groups) - 1)
        self.item_group = np.array(item_group, dtype=np.int64)
        self.group_languages = [{self.items[i].language for i in members} for members in self.group_items]
        self.is_document = np.array([kind == "doc" for kind in self.group_kind], dtype=bool)
        self._build_lexical()
        self._build_dense()

    @property
    def dense(self) -> bool:
        return self.centroids is not None and len(self.matrix) > 0

    def _build_lexical(self) -> None:
        asks = [lexical_terms(" ".join((item.question, *item.alternates))) for item in self.items]
        answers = [lexical_terms(item.answer) for item in self.items]
        self.asks = Bm25(asks)
        self.answers = Bm25(answers)
        self.group_terms: list[frozenset[str]] = [
            frozenset(term for i in members for term in (*asks[i], *answers[i])) for members in self.group_items
        ]

    def _build_dense(self) -> None:
        rows: list[Vectors] = []
        languages: list[str] = []
        self.language_codes = {language: code for code, language in enumerate(sorted({i.language for i in self.items}))}
        row_item: list[int] = []
        row_passage: list[bool] = []
        summaries: list[Vectors] = []
        summary_languages: list[str] = []
        summary_item: list[int] = []
        for index, item in enumerate(self.items):
            if item.vectors is None or self.centroids is None:
                continue
            vectors = item.vectors
            if item.kind == "faq":
                vectors = item.vectors[:-1]
                summaries.append(item.vectors[-1:])
                summary_languages.append(item.language)
                summary_item.append(index)
            rows.append(vectors)
            count = len(vectors)
            languages += [item.language] * count
            row_item += [index] * count
            row_passage += [item.kind == "doc"] * (count - 1) + [True]  # the last row is the answer
        dim = rows[0].shape[1] if rows else 0
        matrix = np.concatenate(rows) if rows else np.zeros((0, dim), dtype=np.float32)
        self.matrix = self.centroids.center_passages(matrix, languages) if self.centroids else matrix
        summary_matrix = np.concatenate(summaries) if summaries else np.zeros((0, dim), dtype=np.float32)
        self.summaries = self.centroids.center_passages(summary_matrix, summary_languages) if self.centroids else summary_matrix
        self.summary_group = self.item_group[np.array(summary_item, dtype=np.int64)]
        self.summary_language = np.array([self.language_codes[language] for language in summary_languages], dtype=np.int64)
        self.row_item = np.array(row_item, dtype=np.int64)
        self.row_group = self.item_group[self.row_item] if row_item else np.zeros(0, dtype=np.int64)
        self.row_passage = np.array(row_passage, dtype=bool)
        self.row_document = self.is_document[self.row_group] if row_item else np.zeros(0, dtype=bool)
        self.row_language = np.array([self.language_codes[language] for language in languages], dtype=np.int64)

    def rank(self, *, query_vector: Vectors | None, terms: list[str], language: str, params: FusionParams) -> Ranking:
        """Groups by fused score, best first (at most ``CANDIDATES``), with the decision
        features of the best. ``query_vector`` is the raw e5 query embedding, or None for a
        lexical-only search."""
        n_groups = len(self.groups)
        if n_groups == 0:
            return Ranking([], None)
        scale = self.asks.self_score(terms) or 1.0
        item_lexical = ((self.asks.scores(terms) + ANSWER_FIELD_WEIGHT * self.answers.scores(terms)) / scale).astype(np.float32)
        group_lexical = np.zeros(n_groups, dtype=np.float32)
        np.maximum.at(group_lexical, self.item_group, item_lexical)
        use_dense = query_vector is not None and self.dense
        if use_dense:
            assert query_vector is not None and self.centroids is not None
            # einsum, not "@": BLAS splits a matrix-vector product over threads, and when the
            # avatar's other stages keep the cores busy those threads wait on each other (p95 8 ms
            # instead of 0.7 ms for 6,000 rows, measured).
            centered = self.centroids.center_query(query_vector, language)
            sims = np.einsum("ij,j->i", self.matrix, centered)
            nearest_out_of_scope = float(np.einsum("ij,j->i", self.out_of_scope, centered).max()) if len(
                self.out_of_scope) else None
            other_language = self.row_language != self.language_codes.get(language, -1)
            adjusted = (sims - params.passage_offset * (self.row_passage & ~self.row_document)
                        + params.document_offset * self.row_document + params.cross_language_bonus * other_language)
            item_score: npt.NDArray[np.float32] = np.full(len(self.items), -np.inf, dtype=np.float32)
            np.maximum.at(item_score, self.row_item, adjusted)
            group_dense = np.full(n_groups, -1.0, dtype=np.float32)
            np.maximum.at(group_dense, self.row_group, adjusted)
            group_dense = self._mix_summaries(group_dense, centered, language, params)
            fused = (group_dense + params.lexical_weight * np.minimum(group_lexical, 1.0)).astype(np.float32)
        else:
            sims = np.zeros(0, dtype=np.float32)
            nearest_out_of_scope = None
            item_score = item_lexical
            group_dense = np.zeros(n_groups, dtype=np.float32)
            fused = group_lexical.copy()
        if not use_dense and not fused.any():
            return Ranking([], None)
        order = np.argsort(-fused, kind="stable")[:CANDIDATES]
        candidates = [
            Candidate(int(g), float(fused[g]), float(group_dense[g]), float(group_lexical[g]),
                      self._shown_item(g, language, item_score))
            for g in order
        ]
        features = self._features(order, group_dense if use_dense else group_lexical, group_lexical, sims, terms, language,
                                  nearest_out_of_scope)
        return Ranking(candidates, features)

    def _mix_summaries(self, group_dense: npt.NDArray[np.float32], centered: Vectors, language: str,
                       params: FusionParams) -> npt.NDArray[np.float32]:
        """Each group's best row mixed with its best summary (a chunk has none: its row stands in)."""
        if not params.summary_weight or not len(self.summaries):
            return group_dense
        other_language = self.summary_language != self.language_codes.get(language, -1)
        sims = np.einsum("ij,j->i", self.summaries, centered) + params.cross_language_bonus * other_language
        group_summary = np.full(len(group_dense), -1.0, dtype=np.float32)
        np.maximum.at(group_summary, self.summary_group, sims.astype(np.float32))
        group_summary = np.where(self.is_document, group_dense, group_summary)
        return ((1 - params.summary_weight) * group_dense + params.summary_weight * group_summary).astype(np.float32)

    def _shown_item(self, group: int, language: str, item_score: npt.NDArray[np.float32]) -> int:
        members = self.group_items[group]
        for index in members:
            if self.items[index].language == language:
                return index
        return max(members, key=lambda index: float(item_score[index]))

    def _features(
        self,
        order: npt.NDArray[np.int64],
        primary: npt.NDArray[np.float32],
        group_lexical: npt.NDArray[np.float32],
        sims: npt.NDArray[np.float32],
        terms: list[str],
        language: str,
        nearest_out_of_scope: float | None,
    ) -> Features:
        top = int(order[0])
        others = np.delete(primary, top)
        best_other = float(others.max()) if len(others) else 0.0
        own = sims[(self.row_group == top) & ~self.row_passage] if len(sims) else sims
        consensus = float(np.sort(own)[-3:].mean()) if len(own) else 0.0
        distinct = set(terms)
        weights = {term: self.asks.idf(term) for term in distinct}
        total = sum(weights.values())
        covered = sum(w for term, w in weights.items() if term in self.group_terms[top])
        return Features(
            top=float(primary[top]),
            margin=float(primary[top]) - best_other,
            consensus=consensus,
            coverage=covered / total if total else 0.0,
            agreement=float(group_lexical[top] > 0 and int(np.argmax(group_lexical)) == top),
            same_language=float(language in self.group_languages[top]),
            # how much closer the best match is than the nearest general-assistant request
            scope=float(primary[top]) - nearest_out_of_scope if nearest_out_of_scope is not None else 0.0,
        )
