"""An answerability check that reads the answer, under leave-one-domain-out (issue #22;
``python bench/kb_answer_check.py``, after ``kb_answer_check_score.py`` for the model's scores).

For each domain left out, the re-ranker and decision are fitted on the other domains as
``kb_lodo`` fits them; every decision here is fitted the same way (``calibrate.decision_fit``'s
logistic model and false-rejection target) on the training domains' questions, each training
domain ranked by a re-ranker fitted without it, and tested on the left-out domain. Compared:

- **LODO**, **LODO + background**: as in ``kb_search_lodo.md`` (the background: the other
  domains' FAQs, ``index.background_index``).
- **+ answer (a)**: four more signals about the best entry's answer, per model of the pair (e5's
  columns, USE's): the question's similarity to the whole answer, and to the answer's closest
  sentence (each sentence embedded as a passage).
- **+ LLM check (b)**: a question the decision accepts is declined when the local Qwen, given the
  question and the best entry (``knowledgebase.answer_check``), scores it under a floor
  (log P(yes) - log P(no)). The floor is fitted on the other domains' in-scope questions that
  their decision accepted: the ``CHECK_QUANTILES`` quantiles of their scores. "reply": declined when
  the model's one-word reply is "no", nothing fitted. The model's scores come from
  ``kb_answer_check_scores.jsonl`` (each domain ranked as when it is left out); its latency is
  reported apart.

Writes ``bench/results/kb_answer_check.md`` and ``.json``.
"""
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_search import MAX_FALSE_REJECTION, ROOT, django_setup

RESULTS = ROOT / "bench" / "results" / "kb_answer_check"
SCORES = ROOT / "bench" / "results" / "kb_answer_check_scores.jsonl"
ANSWER_SIGNALS = ("answer_first", "answer_second", "sentence_first", "sentence_second")
CHECK_QUANTILES = (0.02, 0.05)
SENTENCES: dict[str, dict[int, np.ndarray]] = {}  # domain -> ``sentence_vectors``
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def sentence_vectors(domain: Any) -> dict[int, np.ndarray]:
    """Per group of ``domain.index``, its FAQ answers' sentences embedded as passages and centred."""
    from knowledgebase.indexing import kb_encoder

    encoder = kb_encoder()
    assert encoder is not None
    index = domain.index
    texts, languages, groups = [], [], []
    for item, group in zip(index.items, index.item_group, strict=True):
        if item.kind != "faq":
            continue
        for sentence in (s.strip() for s in _SENTENCE_END.split(item.answer)):
            if sentence:
                texts.append(sentence)
                languages.append(item.language)
                groups.append(int(group))
    vectors = index.centroids.center_passages(encoder.passages(texts), languages)
    by_group: dict[int, list[np.ndarray]] = defaultdict(list)
    for vector, group in zip(vectors, groups, strict=True):
        by_group[group].append(vector)
    return {group: np.stack(rows) for group, rows in by_group.items()}


def answer_signals(domain: Any, group: int, query_vector: Any, language: str) -> list[float]:
    """``ANSWER_SIGNALS`` of ``group`` for one question."""
    index = domain.index
    query = index.centroids.center_query(query_vector, language)
    rows = (index.row_group == group) & index.row_passage & ~index.row_document
    parts = (slice(0, index.split), slice(index.split, None))
    answers = index.matrix[rows]
    sentences = SENTENCES[domain.name].get(group, answers)
    whole = [float((answers[:, p] @ query[p]).max()) if len(answers) else 0.0 for p in parts]
    closest = [float((sentences[:, p] @ query[p]).max()) if len(sentences) else 0.0 for p in parts]
    return [*whole, *closest]


def rows_of(domain: Any, queries: list[Any], calibration: Any, index: Any) -> list[dict[str, Any]]:
    from kb_lodo import ranked

    out = []
    for (keys, features), q in zip(ranked(domain, queries, calibration, index), queries, strict=True):
        if features is None or not keys:
            continue
        group = domain.index.groups.index(keys[0])
        out.append({"query": q.query, "language": q.language, "expected": q.expected, "key": keys[0], "keys": keys[:5],
                    "hit": keys[0] == q.expected, "features": features,
                    "answer": answer_signals(domain, group, domain.vectors[q.query], q.language)})
    return out


def training_rows(train: list[Any], production: Any) -> list[dict[str, Any]]:
    """The training domains' questions as ``kb_lodo.lodo_fit`` sees them (re-ranker fitted without
    the domain, the other training domains as its background)."""
    from kb_lodo import reranker_fit_on, with_background

    rows = []
    for domain in train:
        others = [d for d in train if d is not domain]
        inner = replace(production, reranker=reranker_fit_on(others, production.fusion) if others else None)
        rows += rows_of(domain, domain.train, inner, with_background(domain, others))
    return rows


class Decision:
    """A logistic decision over some of the ``Features`` and, optionally, the answer signals."""

    def __init__(self, rows: list[dict[str, Any]], names: tuple[str, ...], answer: bool) -> None:
        from knowledgebase.retrieval.calibrate import MONOTONE, logistic_fit
        from knowledgebase.retrieval.decision import FEATURE_NAMES

        self.columns = [FEATURE_NAMES.index(name) for name in names]
        self.answer = answer
        x = self._x(rows)
        y = np.array([r["expected"] is not None for r in rows], dtype=np.float64)
        self.mean, self.scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        nonnegative = np.array([name in MONOTONE for name in names] + [True] * (len(ANSWER_SIGNALS) * answer))
        self.weights, self.bias = logistic_fit((x - self.mean) / self.scale, y, nonnegative=nonnegative)
        self.threshold = float(np.quantile(self.probability(rows)[y == 1], MAX_FALSE_REJECTION))

    def _x(self, rows: list[dict[str, Any]]) -> np.ndarray:
        return np.array([[r["features"].as_list()[c] for c in self.columns] + (r["answer"] if self.answer else [])
                         for r in rows])

    def probability(self, rows: list[dict[str, Any]]) -> np.ndarray:
        return 1 / (1 + np.exp(-(((self._x(rows) - self.mean) / self.scale) @ self.weights + self.bias)))

    def accepted(self, rows: list[dict[str, Any]]) -> list[bool]:
        return [bool(p >= self.threshold) for p in self.probability(rows)]


def llm_scores() -> dict[tuple[str, str], dict[str, Any]]:
    rows = [json.loads(line) for line in SCORES.read_text().splitlines() if line.strip()] if SCORES.exists() else []
    return {(row["query"], row["key"]): row for row in rows}


def auc(positive: list[float], negative: list[float]) -> float | None:
    """P(an in-scope score > an out-of-scope one), ties half: how well a score separates, threshold-free."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 3)


def outcome(row: dict[str, Any], answerable: bool) -> dict[str, Any]:
    return {"query": row["query"], "language": row["language"], "expected": row["expected"], "keys": row["keys"],
            "answerable": answerable}


def fit_folds() -> dict[str, dict[str, Any]]:
    """Per domain left out: its questions (best entry, first keys) and which each decision accepted,
    and the decisions' weights."""
    from kb_lodo import domains, index_load, lodo_fit, with_background

    from knowledgebase.retrieval.decision import FEATURE_NAMES, HYBRID_FEATURES, calibration_load

    started = time.perf_counter()
    all_domains = domains()
    for domain in all_domains:
        index_load(domain)
        SENTENCES[domain.name] = sentence_vectors(domain)
    production = calibration_load()
    variants = {"LODO": (HYBRID_FEATURES, False), "LODO + background": (FEATURE_NAMES, False),
                "LODO + answer": (HYBRID_FEATURES, True), "LODO + background + answer": (FEATURE_NAMES, True)}
    folds: dict[str, dict[str, Any]] = {}
    for held in all_domains:
        others = [d for d in all_domains if d is not held]
        lodo = lodo_fit(others, production)
        train = training_rows(others, production)
        test = rows_of(held, held.test, lodo, with_background(held, others))
        fitted = {name: Decision(train, names, answer) for name, (names, answer) in variants.items()}
        folds[held.name] = {
            "rows": [{k: v for k, v in r.items() if k != "features"} for r in test],
            "accepted": {name: d.accepted(test) for name, d in fitted.items()},
            "weights": {name: dict(zip([*names, *(ANSWER_SIGNALS if answer else ())],
                                       np.round(fitted[name].weights, 3).tolist(), strict=True))
                        for name, (names, answer) in variants.items()}}
        print(f"{held.name}: fitted and tested, {time.perf_counter() - started:.0f} s", flush=True)
    return folds


def run() -> str:
    from kb_lodo import NEW_DOMAINS, breakdown, report_table

    started = time.perf_counter()
    folds = fit_folds()
    configs = tuple(folds["rail"]["accepted"])
    outcomes = {name: {config: [outcome(r, ok) for r, ok in zip(fold["rows"], fold["accepted"][config], strict=True)]
                       for config in configs} for name, fold in folds.items()}
    pooled = {config: breakdown([o for d in NEW_DOMAINS for o in outcomes[d][config]]) for config in configs}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    sections = ["# Answerability check that reads the answer: leave-one-domain-out\n", __doc__.split("\n\n", 1)[1].strip(),
                f"\nRun: {time.perf_counter() - started:.0f} s, {os.cpu_count()} cores, load average {load}.",
                report_table("New domains pooled (rail + museum + bank): the held-out target", pooled, configs)]
    for name, fold in folds.items():
        sections.append(report_table(f"{name} left out", {c: breakdown(o) for c, o in outcomes[name].items()}, configs))
        sections.append("decision weights (standardised): " + json.dumps(fold["weights"]))
    report = "\n\n".join(sections) + "\n"
    RESULTS.with_suffix(".md").write_text(report)
    RESULTS.with_suffix(".json").write_text(json.dumps({"pooled": pooled, "folds": folds}, ensure_ascii=False) + "\n")
    return report + "\n" + run_llm(folds)


def checked(rows: list[dict[str, Any]], accepted: list[bool], scores: dict[tuple[str, str], dict[str, Any]],
            keep: Any) -> list[bool]:
    """``accepted`` less the questions whose model score ``keep`` rejects (a score of None keeps them)."""
    return [ok and (scores[(r["query"], r["key"])]["score"] is None or keep(scores[(r["query"], r["key"])]))
            for r, ok in zip(rows, accepted, strict=True)]


def check_floor(folds: dict[str, dict[str, Any]], held: str, decision: str, scores: dict[tuple[str, str], dict[str, Any]],
                quantile: float) -> float | None:
    """The ``quantile`` of the model's scores on the other domains' scored in-scope questions that
    ``decision`` accepted there (None without any)."""
    values = [scores[(r["query"], r["key"])]["score"] for name, fold in folds.items() if name != held
              for r, ok in zip(fold["rows"], fold["accepted"][decision], strict=True)
              if ok and r["expected"] and (r["query"], r["key"]) in scores
              and scores[(r["query"], r["key"])]["score"] is not None]
    return float(np.quantile(values, quantile)) if values else None


def run_llm(folds: dict[str, dict[str, Any]] | None = None) -> str:
    """The model's check over the questions it has scored (``kb_answer_check_scores.jsonl``, a
    stratified sample when the scoring run was stopped early), on ``folds`` (by default those the
    last full run saved). Writes ``kb_answer_check_llm.md``."""
    from kb_lodo import NEW_DOMAINS, breakdown, report_table

    folds = folds or json.loads(RESULTS.with_suffix(".json").read_text())["folds"]
    scores = llm_scores()
    base = "LODO + background"
    pooled: dict[str, list[dict[str, Any]]] = defaultdict(list)
    floors: dict[str, dict[str, float | None]] = {}
    for name in NEW_DOMAINS:
        fold = folds[name]
        scored = [i for i, r in enumerate(fold["rows"]) if (r["query"], r["key"]) in scores]
        rows = [fold["rows"][i] for i in scored]
        accepted = [fold["accepted"][base][i] for i in scored]
        configs = {base: accepted,
                   f"{base} + LLM check (reply)": checked(rows, accepted, scores,
                                                          lambda s: (s["reply"] or "").strip().lower() != "no")}
        floors[name] = {}
        for quantile in CHECK_QUANTILES:
            floor = check_floor(folds, name, base, scores, quantile)
            floors[name][f"{quantile:.0%}"] = None if floor is None else round(floor, 3)
            configs[f"{base} + LLM check ({quantile:.0%})"] = checked(
                rows, accepted, scores, lambda s, floor=floor: floor is None or s["score"] >= floor)
        for config, answered in configs.items():
            pooled[config] += [outcome(r, ok) for r, ok in zip(rows, answered, strict=True)]
    table = {config: breakdown(out) for config, out in pooled.items()}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    report = "\n\n".join([
        "# Answer check by the local Qwen: leave-one-domain-out (scored sample)\n",
        f"Questions the model has scored: {len(pooled[base])} of the new domains' "
        f"{sum(len(folds[d]['rows']) for d in NEW_DOMAINS)}; every column is over that same sample. "
        f"Load average at this summary: {load} (each call's own load is in the scores file).",
        report_table("New domains pooled (rail + museum + bank), scored sample", table, tuple(table)),
        "LLM check floors (log P(yes) - log P(no)), fitted on the other domains: " + json.dumps(floors),
        _separation(folds, scores, base)]) + "\n"
    RESULTS.with_name(RESULTS.name + "_llm.md").write_text(report)
    return report


def _separation(folds: dict[str, dict[str, Any]], scores: dict[tuple[str, str], dict[str, Any]], base: str) -> str:
    """How well the model's score alone tells in-scope from out-of-scope among the questions the
    decision accepted (AUC), and what a call costs."""
    lines = ["### The model's score among questions the decision accepted", "",
             "| domain | scored / accepted | AUC in-scope vs out-of-scope | reply 'no': in-scope | reply 'no': out-of-scope "
             "| call ms p50 / p95 (mean load) |", "|---|---|---|---|---|---|"]
    for name, fold in folds.items():
        accepted = [r for r, ok in zip(fold["rows"], fold["accepted"][base], strict=True) if ok]
        scored = [scores[(r["query"], r["key"])] for r in accepted if (r["query"], r["key"]) in scores]
        if not scored:
            continue
        inside = [s for s in scored if s["expected"]]
        outside = [s for s in scored if not s["expected"]]
        ms = sorted(s["ms"] for s in scored)
        loads = statistics.mean(s["load"] for s in scored)

        def said_no(group: list[dict[str, Any]]) -> str:
            return f"{sum((s['reply'] or '').strip().lower() == 'no' for s in group)}/{len(group)}"

        separation = auc([s["score"] for s in inside if s["score"] is not None],
                         [s["score"] for s in outside if s["score"] is not None])
        p50, p95 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        lines.append(f"| {name} | {len(scored)} / {len(accepted)} | {separation} | {said_no(inside)} | {said_no(outside)} "
                     f"| {p50} / {p95} ({loads:.1f}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["--llm"]:
        print(run_llm())
    else:
        with tempfile.TemporaryDirectory(prefix="kb-answer-check-") as workdir:
            django_setup(Path(workdir))
            print(run())
