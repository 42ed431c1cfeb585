"""Self-calibration: the answerable decision's threshold set from a venue's own entries.

The fixed calibration (``calibration.json``) was fitted on the mall demo's questions. A venue
brings another domain and no labelled questions, but its FAQs hold their own test set: each
phrasing (question or alternate) of an entry, held out of the index, is a question the entry
should answer (*in-scope probes*), and asking it again with the entry's whole translation in
that language removed mimics a customer asking in a language the venue did not write
(cross-language probes). Questions from other venues' FAQs that none of its phrasings
answers (nearest phrasing under ``ANSWERED_SIMILARITY``, the index's own rule for its
out-of-scope examples) are *out-of-scope probes*. The decision's probability on both sets
sets the threshold; the decision's weights and the re-ranker stay the fixed ones (the probes
are too few and too easy to refit fifteen weights on: measured in ``bench/kb_search.py --lodo``).

Too few entries or probes to estimate a quantile from gives None: the fixed calibration applies.

Measured (``bench/results/kb_search_lodo.md``): on two domains never fitted on, it moved the
threshold within the noise and did not improve out-of-scope rejection. The venue's own
phrasings score higher than customers' colloquial questions, and other venues' questions lie
farther from it than its real near-domain out-of-scope ones; better probes (generated
colloquial phrasings, issue #22 item 3) are what it lacks.
"""
from dataclasses import dataclass, replace

import numpy as np

from knowledgebase.retrieval.decision import Calibration, Features
from knowledgebase.retrieval.encoder import Encoder, Vectors
from knowledgebase.retrieval.index import ANSWERED_SIMILARITY, IndexItem, SearchIndex
from knowledgebase.retrieval.text import lexical_terms

MIN_ENTRIES = 8  # fewer FAQ entries: too few phrasings to hold out
MIN_IN_SCOPE = 24
MIN_OUT_OF_SCOPE = 12
# The threshold: in-scope probes are the venue's own phrasings, closer to their entries than a
# customer's colloquial question, so the threshold is set at a low quantile of theirs, and never
# above the fixed one by more than it would reject of them.
IN_SCOPE_QUANTILE = 0.02
OUT_OF_SCOPE_QUANTILE = 0.9
# Each probe searches an index rebuilt without it: a large knowledge base is sampled, so a
# refresh stays within seconds.
MAX_PROBES = 64
MAX_DISTRACTORS = 48


@dataclass(frozen=True)
class SelfCalibration:
    threshold: float
    entries: int  # FAQ entries it was computed on
    in_scope: int  # probes behind it
    out_of_scope: int
    fixed_threshold: float

    def as_dict(self) -> dict[str, float | int]:
        return {"threshold": self.threshold, "entries": self.entries, "in_scope": self.in_scope,
                "out_of_scope": self.out_of_scope, "fixed_threshold": self.fixed_threshold}


@dataclass(frozen=True)
class Probe:
    text: str
    language: str
    held_item: int  # the index item it comes from (-1: an out-of-scope probe)
    held_row: int  # the phrasing held out of that item, or -1 for the whole item


def in_scope_probes(index: SearchIndex) -> list[Probe]:
    probes = []
    for i, item in enumerate(index.items):
        if item.kind != "faq" or item.vectors is None:
            continue
        phrasings = [item.question, *item.alternates]
        if len(phrasings) > 1:
            probes += [Probe(text, item.language, i, row) for row, text in enumerate(phrasings)]
        if len(index.group_items[int(index.item_group[i])]) > 1:  # another translation can answer it
            probes += [Probe(text, item.language, i, -1) for text in phrasings[:2]]
    return _spread(probes, MAX_PROBES)


def _spread(values: list[Probe], limit: int) -> list[Probe]:
    """At most ``limit`` of ``values``, evenly spaced (deterministic; keeps their order)."""
    if len(values) <= limit:
        return values
    return [values[int(i * len(values) / limit)] for i in range(limit)]


def _without(item: IndexItem, row: int) -> IndexItem:
    """``item`` with phrasing ``row`` removed; its summary re-estimated from the phrasings left
    (the stored one was embedded with the held-out text in it)."""
    assert item.vectors is not None
    phrasings = [item.question, *item.alternates]
    del phrasings[row]
    rows = np.delete(item.vectors[:-1], row, axis=0)  # phrasings..., answer
    summary = rows[:-1].mean(axis=0)
    summary *= np.linalg.norm(item.vectors[-1]) / (np.linalg.norm(summary) or 1.0)
    return replace(item, question=phrasings[0], alternates=tuple(phrasings[1:]),
                   vectors=np.vstack([rows, summary[None, :]]).astype(np.float32))


def _reduced(index: SearchIndex, probe: Probe, out_of_scope: tuple[Vectors, list[str]] | None) -> SearchIndex:
    items = list(index.items)
    if probe.held_row < 0:
        del items[probe.held_item]
    else:
        items[probe.held_item] = _without(items[probe.held_item], probe.held_row)
    return SearchIndex(items, index.centroids, out_of_scope, split=index.split)


def _features(index: SearchIndex, vector: Vectors, probe: Probe, calibration: Calibration) -> Features | None:
    ranking = index.rank(query_vector=vector, terms=lexical_terms(probe.text), language=probe.language,
                         params=calibration.fusion, reranker=calibration.reranker)
    return ranking.features


def probe_features(index: SearchIndex, encoder: Encoder, calibration: Calibration,
                   distractors: list[tuple[str, str]], out_of_scope: tuple[Vectors, list[str]] | None,
                   ) -> tuple[list[Features], list[Features]]:
    """The decision features of the in-scope probes (each against the index without it) and of
    the ``distractors`` (text, language) that the index does not answer."""
    probes = in_scope_probes(index)
    own = {text for item in index.items for text in (item.question, *item.alternates)}
    distractors = [(p.text, p.language) for p in _spread([Probe(t, lang, -1, -1) for t, lang in distractors
                                                          if t not in own], MAX_DISTRACTORS)]
    if len(distractors) < MIN_OUT_OF_SCOPE:  # the distractors are this venue's own FAQs (the demo mall)
        return [], []
    vectors = encoder.queries([p.text for p in probes] + [text for text, _ in distractors])
    in_scope = []
    reduced: dict[tuple[int, int], SearchIndex] = {}
    for probe, vector in zip(probes, vectors, strict=False):
        key = (probe.held_item, probe.held_row)
        if key not in reduced:
            reduced = {key: _reduced(index, probe, out_of_scope)}  # probes of one key are consecutive
        features = _features(reduced[key], vector, probe, calibration)
        if features is not None:
            in_scope.append(features)
    phrasing_rows = ~index.row_passage
    outside = []
    for (text, language), vector in zip(distractors, vectors[len(probes):], strict=True):
        assert index.centroids is not None
        nearest = float((index.matrix[phrasing_rows] @ index.centroids.center_query(vector, language)).max(initial=-1.0))
        if nearest >= ANSWERED_SIMILARITY:
            continue  # the venue answers it (every venue has toilets)
        features = _features(index, vector, Probe(text, language, -1, -1), calibration)
        if features is not None:
            outside.append(features)
    return in_scope, outside


def threshold_fit(in_scope: list[float], out_of_scope: list[float], fixed: float) -> float:
    """The threshold between the two sets of probabilities: the lower of a low quantile of the
    in-scope probes' and the point that rejects ``OUT_OF_SCOPE_QUANTILE`` of the distractors."""
    low = float(np.quantile(in_scope, IN_SCOPE_QUANTILE))
    high = float(np.quantile(out_of_scope, OUT_OF_SCOPE_QUANTILE))
    return round(min(low, max(high, fixed)) if high < low else low, 4)


def self_calibration_fit(index: SearchIndex, encoder: Encoder, calibration: Calibration,
                         distractors: list[tuple[str, str]], out_of_scope: tuple[Vectors, list[str]] | None,
                         ) -> SelfCalibration | None:
    """The hybrid decision's threshold for this knowledge base, or None when it has too few
    entries or probes (the fixed calibration then applies)."""
    entries = sum(kind == "faq" for kind in index.group_kind)
    if not index.dense or entries < MIN_ENTRIES:
        return None
    in_scope, outside = probe_features(index, encoder, calibration, distractors, out_of_scope)
    if len(in_scope) < MIN_IN_SCOPE or len(outside) < MIN_OUT_OF_SCOPE:
        return None
    decision = calibration.decision("hybrid")
    fixed = decision.threshold
    threshold = threshold_fit([decision.probability(f) for f in in_scope], [decision.probability(f) for f in outside],
                              fixed)
    return SelfCalibration(threshold, entries, len(in_scope), len(outside), fixed)
