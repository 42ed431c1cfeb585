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
of an FAQ in another language than the query's counts ``cross_language_bonus`` more because
even after ``languages`` removes each language's direction, a same-language text keeps an edge
over the right answer in another language. A chunk gets no such bonus: an FAQ shows its
translation in the query's language whichever row matched, but a document written in two
languages is two chunks, and the bonus would rank the one the customer cannot read first.

An FAQ translation also has a *summary* vector: all its phrasings embedded as one text. One
phrasing can match a question by accident (a shared word, the same sentence frame); the
summary says what the phrasings have in common, the topic, and matches a paraphrase in
another language better than any single phrasing does. The group's dense score mixes its
best row with its best summary (``summary_weight``; a chunk's summary is its row).

A group's lexical score is its best item's BM25 share of the query. The two are fused as a
weighted sum (weights in ``calibration.json``). With a ``Reranker``, the first
``RERANK_DEPTH`` groups of that ranking are then ordered by the re-ranker's score (see
``rerank``).
"""
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from common.languages import KIOSK_LANGUAGES
from knowledgebase.retrieval.bm25 import Bm25
from knowledgebase.retrieval.decision import Features, FusionParams
from knowledgebase.retrieval.encoder import Vectors
from knowledgebase.retrieval.languages import LanguageCentroids
from knowledgebase.retrieval.rerank import CANDIDATE_FEATURES, RERANK_DEPTH, Reranker, softmax
from knowledgebase.retrieval.text import lexical_terms

ANSWER_FIELD_WEIGHT = 0.3  # an answer's words count less than the question's own words
CANDIDATES = 50
# An out-of-scope example this close to one of the FAQs' phrasings is answered by them and
# dropped: a customer's question is this close to its FAQ's nearest phrasing only one time
# in ten (calibration set), an FAQ's own question, asked, about 0.9.
ANSWERED_SIMILARITY = 0.7
# A background entry (another venue's FAQ, see ``background_index``) with a phrasing this close
# to one of this knowledge base's phrasings asks what this venue answers, and is dropped.
BACKGROUND_ANSWERED = 0.8
# ... and one this close to a phrasing of the best entry asks about the same thing: no evidence
# that the question is about something else (another bank's opening hours, not this one's).
BACKGROUND_SAME_TOPIC = 0.7
# How far ahead of the background the best entry must be to count as fully ahead; also the
# value when there is no background, so an empty one reads as "nothing closer elsewhere".
BACKGROUND_CAP = 0.3


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
    # An FAQ translation's generated phrasings (``knowledgebase.phrasing``): (language, text), in any
    # kiosk language, each its own phrasing row in its own language; ``generated_vectors`` in that order.
    generated: tuple[tuple[str, str], ...] = ()
    generated_vectors: Vectors | None = None

    def generated_texts(self) -> list[str]:
        return [text for _, text in self.generated]

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


@dataclass(frozen=True)
class _Scores:
    """The first stage's scores of one query (dense ones empty for a lexical-only search)."""

    fused: npt.NDArray[np.float32]
    dense: npt.NDArray[np.float32]  # per group, with the offsets and the summary mixed in
    lexical: npt.NDArray[np.float32]
    item: npt.NDArray[np.float32]
    sims: npt.NDArray[np.float32]  # per row, plain cosine of the centred vectors
    summary_sims: npt.NDArray[np.float32]
    nearest_out_of_scope: float | None
    query: Vectors | None  # the centred query vector


class SearchIndex:
    """Immutable once built; a new one replaces it when the knowledge base changes."""

    def __init__(self, items: list[IndexItem], centroids: LanguageCentroids | None,
                 out_of_scope: tuple[Vectors, list[str]] | None = None, split: int = 0,
                 background: list[IndexItem] | None = None) -> None:
        """``out_of_scope``: raw query embeddings of the ``out_of_scope`` examples and their
        languages (the ``scope`` features are 0 without them); those the FAQs answer are dropped.
        ``split``: where the first of two joined models' columns end (``PairEncoder.split``;
        0 for one model), for the ``first_scope`` and ``second_scope`` features.
        ``background``: other venues' FAQ translations (groups named apart from this index's),
        for the ``background`` feature; see ``background_index``."""
        self.items = sorted(items, key=lambda item: (item.kind, item.group, item.language))
        self.centroids = centroids
        self.split = split
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
        if len(self.out_of_scope) and len(self.matrix):
            nearest = (self.out_of_scope @ self.matrix[~self.row_passage].T).max(axis=1, initial=-1.0)
            self.out_of_scope = self.out_of_scope[nearest < ANSWERED_SIMILARITY]
        self.background: SearchIndex | None = None
        self.background_near = np.zeros((0, 0), dtype=bool)  # background group x group: same topic
        found = background_index(self, background) if background else None
        if found is not None:
            self.background, self.background_near = found

    @property
    def dense(self) -> bool:
        return self.centroids is not None and len(self.matrix) > 0

    def _build_lexical(self) -> None:
        asks = [lexical_terms(" ".join((item.question, *item.alternates, *item.generated_texts()))) for item in self.items]
        answers = [lexical_terms(item.answer) for item in self.items]
        self.asks = Bm25(asks)
        self.answers = Bm25(answers)
        self.group_terms: list[frozenset[str]] = [
            frozenset(term for i in members for term in (*asks[i], *answers[i])) for members in self.group_items
        ]

    def _build_dense(self) -> None:
        rows: list[Vectors] = []
        languages: list[str] = []
        every = {i.language for i in self.items} | {language for i in self.items for language, _ in i.generated}
        self.language_codes = {language: code for code, language in enumerate(sorted(every))}
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
            if item.generated and item.generated_vectors is not None and len(item.generated_vectors):
                rows.append(item.generated_vectors)  # phrasings, each in its own language
                languages += [language for language, _ in item.generated]
                row_item += [index] * len(item.generated)
                row_passage += [False] * len(item.generated)
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
        # rows follow the items, sorted by group: each group's rows (and summaries) are one slice
        groups = np.arange(len(self.groups))
        self.group_rows = self._slices(self.row_group, groups)
        self.group_summary_rows = self._slices(self.summary_group, groups)

    @staticmethod
    def _slices(sorted_groups: npt.NDArray[np.int64], groups: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
        starts = np.searchsorted(sorted_groups, groups, side="left")
        ends = np.searchsorted(sorted_groups, groups, side="right")
        return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]

    def rank(self, *, query_vector: Vectors | None, terms: list[str], language: str, params: FusionParams,
             reranker: Reranker | None = None) -> Ranking:
        """Groups by score, best first (at most ``CANDIDATES``), with the decision features of
        the best. ``query_vector`` is the raw e5 query embedding, or None for a lexical-only
        search (which the re-ranker, built on dense signals, leaves alone)."""
        if not self.groups:
            return Ranking([], None)
        scores = self._first_stage(query_vector, terms, language, params)
        use_dense = len(scores.sims) > 0
        if not use_dense and not scores.fused.any():
            return Ranking([], None)
        order = np.argsort(-scores.fused, kind="stable")[:CANDIDATES]
        shown = scores.fused[order].astype(np.float64)
        rerank_probability = rerank_margin = 0.0
        if reranker is not None and use_dense:
            head = order[:RERANK_DEPTH]
            learned = reranker.scores(self._candidate_features(head, scores, terms, language))
            best_first = np.argsort(-learned, kind="stable")
            order = np.concatenate([head[best_first], order[RERANK_DEPTH:]])
            # a probability over the re-ranked head; what lies below it gets none
            shown = np.concatenate([softmax(learned[best_first]), np.zeros(len(order) - len(head))])
            rerank_probability = float(shown[0])
            rerank_margin = float(learned[best_first[0]] - learned[best_first[1]]) if len(head) > 1 else 0.0
        candidates = [
            Candidate(int(g), float(score), float(scores.dense[g]), float(scores.lexical[g]),
                      self._shown_item(int(g), language, scores.item))
            for g, score in zip(order, shown, strict=True)
        ]
        features = self._features(order, scores.dense if use_dense else scores.lexical, scores, terms, language, params,
                                  rerank_probability, rerank_margin)
        return Ranking(candidates, features)

    def candidate_features(self, *, query_vector: Vectors, terms: list[str], language: str, params: FusionParams,
                           ) -> tuple[list[int], npt.NDArray[np.float64]]:
        """The first stage's best ``RERANK_DEPTH`` groups and their ``CANDIDATE_FEATURES``
        rows: what the re-ranker is fitted on."""
        scores = self._first_stage(query_vector, terms, language, params)
        head = np.argsort(-scores.fused, kind="stable")[:RERANK_DEPTH]
        return [int(g) for g in head], self._candidate_features(head, scores, terms, language)

    def _first_stage(self, query_vector: Vectors | None, terms: list[str], language: str, params: FusionParams) -> _Scores:
        n_groups = len(self.groups)
        scale = self.asks.self_score(terms) or 1.0
        item_lexical = ((self.asks.scores(terms) + ANSWER_FIELD_WEIGHT * self.answers.scores(terms)) / scale).astype(np.float32)
        group_lexical = np.zeros(n_groups, dtype=np.float32)
        np.maximum.at(group_lexical, self.item_group, item_lexical)
        if query_vector is None or not self.dense:
            empty = np.zeros(0, dtype=np.float32)
            return _Scores(group_lexical.copy(), np.zeros(n_groups, dtype=np.float32), group_lexical, item_lexical,
                           empty, empty, None, None)
        assert self.centroids is not None
        # einsum, not "@": BLAS splits a matrix-vector product over threads, and when the
        # avatar's other stages keep the cores busy those threads wait on each other (p95 8 ms
        # instead of 0.7 ms for 6,000 rows, measured).
        centered = self.centroids.center_query(query_vector, language)
        nearest_out_of_scope = float(np.einsum("ij,j->i", self.out_of_scope, centered).max()) if len(
            self.out_of_scope) else None
        sims, summary_sims, item_score, group_dense = self._dense(centered, language, params)
        fused = (group_dense + params.lexical_weight * np.minimum(group_lexical, 1.0)).astype(np.float32)
        return _Scores(fused, group_dense, group_lexical, item_score, sims, summary_sims, nearest_out_of_scope, centered)

    def _dense(self, centered: Vectors, language: str, params: FusionParams,
               ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Per row and per summary the plain similarity to the ``centered`` query; per item and
        per group the dense score (offsets, bonus and summary mixed in)."""
        n_groups = len(self.groups)
        sims = np.einsum("ij,j->i", self.matrix, centered)
        summary_sims = np.einsum("ij,j->i", self.summaries, centered) if len(self.summaries) else sims[:0]
        other_language = self.row_language != self.language_codes.get(language, -1)
        adjusted = (sims - params.passage_offset * (self.row_passage & ~self.row_document)
                    + params.document_offset * self.row_document
                    + params.cross_language_bonus * (other_language & ~self.row_document))
        item_score: npt.NDArray[np.float32] = np.full(len(self.items), -np.inf, dtype=np.float32)
        np.maximum.at(item_score, self.row_item, adjusted)
        group_dense = np.full(n_groups, -1.0, dtype=np.float32)
        np.maximum.at(group_dense, self.row_group, adjusted)
        group_dense = self._mix_summaries(group_dense, summary_sims, language, params)
        return sims, summary_sims, item_score, group_dense

    def _mix_summaries(self, group_dense: npt.NDArray[np.float32], summary_sims: npt.NDArray[np.float32], language: str,
                       params: FusionParams) -> npt.NDArray[np.float32]:
        """Each group's best row mixed with its best summary (a chunk has none: its row stands in)."""
        if not params.summary_weight or not len(self.summaries):
            return group_dense
        other_language = self.summary_language != self.language_codes.get(language, -1)
        sims = summary_sims + params.cross_language_bonus * other_language
        group_summary = np.full(len(group_dense), -1.0, dtype=np.float32)
        np.maximum.at(group_summary, self.summary_group, sims.astype(np.float32))
        group_summary = np.where(self.is_document, group_dense, group_summary)
        return ((1 - params.summary_weight) * group_dense + params.summary_weight * group_summary).astype(np.float32)

    def _candidate_features(self, head: npt.NDArray[np.int64], scores: _Scores, terms: list[str], language: str,
                            ) -> npt.NDArray[np.float64]:
        """``CANDIDATE_FEATURES`` of each group in ``head`` (the first stage's best, in order).
        A document chunk has one row and no summary: that row's score (with its offset)
        stands in for its phrasings and summary, as it does in the first stage."""
        weights = {term: self.asks.idf(term) for term in set(terms)}
        total = sum(weights.values()) or 1.0
        code = self.language_codes.get(language, -1)
        best = float(scores.fused[head[0]])
        x = np.zeros((len(head), len(CANDIDATE_FEATURES)))
        for position, g in enumerate(head):
            rows = slice(*self.group_rows[g])
            sims, phrasing = scores.sims[rows], ~self.row_passage[rows]
            same = float(code in self.row_language[rows])
            if self.is_document[g] or not phrasing.any():  # a chunk, or an entry not embedded yet
                phrasings = answer = summary = float(scores.dense[g])
                top3 = phrasings
                same_phrasing = phrasings * same
            else:
                own = np.sort(sims[phrasing])
                phrasings, top3, answer = float(own[-1]), float(own[-3:].mean()), float(sims[~phrasing].max())
                summary = float(scores.summary_sims[slice(*self.group_summary_rows[g])].max())
                in_language = phrasing & (self.row_language[rows] == code)
                same_phrasing = float(sims[in_language].max()) if in_language.any() else 0.0
            lexical = min(float(scores.lexical[g]), 1.0)
            coverage = sum(w for term, w in weights.items() if term in self.group_terms[g]) / total
            x[position] = (
                float(scores.fused[g]), phrasings, top3, summary, answer, lexical, coverage, same, 1 / (1 + position),
                float(scores.fused[g]) - best, same_phrasing, len(self.group_languages[g]) / len(KIOSK_LANGUAGES),
                same * phrasings, same * summary, same * lexical,
            )
        return x

    def _shown_item(self, group: int, language: str, item_score: npt.NDArray[np.float32]) -> int:
        members = self.group_items[group]
        for index in members:
            if self.items[index].language == language:
                return index
        return max(members, key=lambda index: float(item_score[index]))

    def _features(self, order: npt.NDArray[np.int64], primary: npt.NDArray[np.float32], scores: _Scores,
                  terms: list[str], language: str, params: FusionParams,
                  rerank_probability: float, rerank_margin: float) -> Features:
        top = int(order[0])
        others = np.delete(primary, top)
        best_other = float(others.max()) if len(others) else 0.0
        phrasings = (self.row_group == top) & ~self.row_passage if len(scores.sims) else np.zeros(0, dtype=bool)
        own = scores.sims[phrasings]
        consensus = float(np.sort(own)[-3:].mean()) if len(own) else 0.0
        distinct = set(terms)
        weights = {term: self.asks.idf(term) for term in distinct}
        total = sum(weights.values())
        covered = sum(w for term, w in weights.items() if term in self.group_terms[top])
        nearest_out_of_scope = scores.nearest_out_of_scope
        # a chunk has no phrasings: its one row stands in, as in the first stage
        first_scope, second_scope = self._model_scopes(phrasings if phrasings.any() else self.row_group == top,
                                                       scores.query)
        return Features(
            top=float(primary[top]),
            margin=float(primary[top]) - best_other,
            consensus=consensus,
            coverage=covered / total if total else 0.0,
            agreement=float(scores.lexical[top] > 0 and int(np.argmax(scores.lexical)) == top),
            same_language=float(language in self.group_languages[top]),
            # how much closer the best match is than the nearest general-assistant request
            scope=float(primary[top]) - nearest_out_of_scope if nearest_out_of_scope is not None else 0.0,
            rerank_probability=rerank_probability,
            rerank_margin=rerank_margin,
            first_scope=first_scope,
            second_scope=second_scope,
            background=self._background(top, float(primary[top]), scores.query, language, params),
        )

    def _background(self, group: int, top: float, query: Vectors | None, language: str, params: FusionParams) -> float:
        """How far the best entry (``group``, dense score ``top``) is ahead of the best background
        entry not on its topic, scored the same way; capped at ``BACKGROUND_CAP`` (also its value
        without a background, a query vector, or a background entry off its topic)."""
        if self.background is None or query is None:
            return BACKGROUND_CAP
        other_topic = ~self.background_near[:, group]
        if not other_topic.any():
            return BACKGROUND_CAP
        best = float(self.background._dense(query, language, params)[3][other_topic].max())
        return min(top - best, BACKGROUND_CAP)

    def _model_scopes(self, rows_mask: npt.NDArray[np.bool_], query: Vectors | None) -> tuple[float, float]:
        """``scope`` as each of two joined models sees it on its own columns: the best of the
        ``rows_mask`` rows' similarity less the nearest out-of-scope example's. The two
        disagree on which general requests resemble a kiosk question; the decision weighs both."""
        if not self.split or query is None or not rows_mask.any() or not len(self.out_of_scope):
            return 0.0, 0.0
        rows = self.matrix[rows_mask]

        def scope(part: slice) -> float:
            nearest = np.einsum("ij,j->i", self.out_of_scope[:, part], query[part]).max()
            return float(np.einsum("ij,j->i", rows[:, part], query[part]).max() - nearest)

        return scope(slice(0, self.split)), scope(slice(self.split, None))


def background_index(index: SearchIndex, items: list[IndexItem]) -> tuple[SearchIndex, npt.NDArray[np.bool_]] | None:
    """A per-knowledge-base null model: other venues' FAQ translations (``items``, embedded, their
    groups named apart from ``index``'s) less those that ask what ``index`` answers (an entry with
    a phrasing within ``BACKGROUND_ANSWERED`` of one of its phrasings), as an index of their own;
    and which of them are on the topic of which of ``index``'s groups (``BACKGROUND_SAME_TOPIC``).

    A near-domain question the venue does not answer (pets on the train) lands on a related
    entry (luggage trolleys) about as close as a customer's colloquial in-scope question would;
    but some other venue's FAQ asks it more nearly (a mall's pets policy). A question closer to
    a background entry off its best entry's topic than to that entry is more likely out of scope:
    the ``background`` feature of the decision. None without vectors or when nothing is left."""
    usable = [item for item in items if item.kind == "faq" and item.vectors is not None]
    if not usable or not index.dense:
        return None
    candidate = SearchIndex(usable, index.centroids)
    own, rows = ~index.row_passage, ~candidate.row_passage
    sims = candidate.matrix[rows] @ index.matrix[own].T  # background phrasings x this index's phrasings
    per_entry = _group_max(sims, candidate.row_group[rows], len(candidate.groups))
    near = _group_max(per_entry.T, index.row_group[own], len(index.groups)).T  # background group x group
    kept = near.max(axis=1, initial=-1.0) < BACKGROUND_ANSWERED
    if not kept.any():
        return None
    names = {candidate.groups[g] for g in np.flatnonzero(kept)}
    background = SearchIndex([item for item in usable if item.group in names], index.centroids)
    return background, near[kept] >= BACKGROUND_SAME_TOPIC  # groups keep their sorted order


def _group_max(values: npt.NDArray[np.float32], groups: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.float32]:
    """Per group the column-wise maximum of its rows of ``values`` (``groups`` sorted), -1 for a
    group without rows."""
    out = np.full((count, values.shape[1]), -1.0, dtype=np.float32)
    if len(groups):
        present, starts = np.unique(groups, return_index=True)
        out[present] = np.maximum.reduceat(values, starts, axis=0)
    return out
