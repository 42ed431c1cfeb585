"""Why near-domain out-of-scope questions pass the answerable decision, and whether one more
signal separates them (``python bench/kb_oos_diagnostic.py``; issue #22).

For each domain left out, the re-ranker and decision are fitted on the other domains exactly as
``kb_lodo`` does ("LODO"); the script then lists each held-out out-of-scope question with its best
entry, the decision's signals and probability, next to where the held-out in-scope questions
fall. It then tries one extra signal (``--signal``): **relative** (the default), the query's
best similarity to the top entry's phrasings less how similar those phrasings are to one another
(for each phrasing, its nearest sibling; averaged): a customer's question about the entry should
sit about as close to it as its own alternates do, a near-domain question that only shares the
topic farther; or **answer**, the query's similarity to the entry's answer less its best
similarity to the entry's phrasings: whether what the entry says addresses the question.
The augmented decision is fitted on the training domains only (same procedure and
false-rejection target as ``calibrate.decision_fit``) and tested on the held-out one. Nothing
here changes the production decision. Writes ``bench/results/kb_oos_diagnostic.md``
(``kb_oos_diagnostic_answer.md`` for ``--signal answer``).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_search import MAX_FALSE_REJECTION, ROOT, django_setup

RESULTS = ROOT / "bench" / "results" / "kb_oos_diagnostic"
VETO_QUANTILE = 0.01
SHOWN = ("top", "margin", "coverage", "scope", "rerank_probability", "first_scope", "second_scope")


def entry_relative(index: Any, group: int, query_vector: Any, language: str) -> float:
    """Best similarity of the query to ``group``'s phrasings less their mean nearest-sibling
    similarity (0 when the entry has fewer than two phrasings)."""
    rows = (index.row_group == group) & ~index.row_passage
    if rows.sum() < 2:
        return 0.0
    own = index.matrix[rows]
    centered = index.centroids.center_query(query_vector, language)
    pairwise = own @ own.T
    np.fill_diagonal(pairwise, -np.inf)
    return float((own @ centered).max() - pairwise.max(axis=1).mean())


def answer_gap(index: Any, group: int, query_vector: Any, language: str) -> float:
    """The query's similarity to ``group``'s answer less its best similarity to the entry's
    phrasings: whether what the entry says addresses the question, beyond sharing its topic."""
    rows = (index.row_group == group) & ~index.row_document
    answers, phrasings = rows & index.row_passage, rows & ~index.row_passage
    if not answers.any() or not phrasings.any():
        return 0.0
    sims = index.matrix @ index.centroids.center_query(query_vector, language)
    return float(sims[answers].max() - sims[phrasings].max())


SIGNALS = {"relative": entry_relative, "answer": answer_gap}
SIGNAL: tuple[str, Any] = ("relative", entry_relative)  # set by --signal


def rows_of(domain: Any, queries: list[Any], calibration: Any) -> list[dict[str, Any]]:
    from kb_lodo import ranked

    out = []
    for (keys, features), q in zip(ranked(domain, queries, calibration), queries, strict=True):
        if features is None or not keys:
            continue
        group = domain.index.groups.index(keys[0])
        out.append({"query": q.query, "language": q.language, "expected": q.expected, "top_key": keys[0],
                    "features": features, "signal": SIGNAL[1](domain.index, group, domain.vectors[q.query], q.language)})
    return out


def augmented_fit(train: list[dict[str, Any]]) -> tuple[Any, np.ndarray, np.ndarray, float]:
    """The production feature set plus the tried signal, fitted as ``decision_fit`` fits."""
    from knowledgebase.retrieval.calibrate import MONOTONE, logistic_fit
    from knowledgebase.retrieval.decision import FEATURE_NAMES

    x = np.array([[*r["features"].as_list(), r["signal"]] for r in train])
    y = np.array([r["expected"] is not None for r in train], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    nonnegative = np.array([name in MONOTONE for name in FEATURE_NAMES] + [True])
    weights, bias = logistic_fit((x - mean) / scale, y, nonnegative=nonnegative)
    p = 1 / (1 + np.exp(-(((x - mean) / scale) @ weights + bias)))
    threshold = float(np.quantile(p[y == 1], MAX_FALSE_REJECTION))
    return (mean, scale), weights, np.array([bias]), threshold


def augmented_probability(model: tuple[Any, np.ndarray, np.ndarray, float], row: dict[str, Any]) -> float:
    (mean, scale), weights, bias, _ = model
    x = (np.array([*row["features"].as_list(), row["signal"]]) - mean) / scale
    return float(1 / (1 + np.exp(-(x @ weights + bias[0]))))


def rates(rows: list[dict[str, Any]], accepted: list[bool]) -> tuple[float, float]:
    oos = [not a for r, a in zip(rows, accepted, strict=True) if r["expected"] is None]
    inside = [not a for r, a in zip(rows, accepted, strict=True) if r["expected"] is not None]
    return statistics.mean(oos), statistics.mean(inside)


def run() -> str:
    from kb_lodo import domains, index_load, lodo_fit, reranker_fit_on

    from knowledgebase.retrieval.decision import calibration_load

    started = time.perf_counter()
    all_domains = domains()
    for domain in all_domains:
        index_load(domain)
    production = calibration_load()
    lines = ["# Near-domain out-of-scope questions: diagnostic (issue #22)", "",
             __doc__.split("\n\n", 1)[1].strip(), ""]
    pooled: dict[str, list[tuple[dict[str, Any], bool]]] = {"LODO": [], f"LODO + {SIGNAL[0]}": [],
                                                            f"LODO, {SIGNAL[0]} floor ({VETO_QUANTILE:.0%})": []}
    for held in all_domains:
        others = [d for d in all_domains if d is not held]
        lodo = lodo_fit(others, production)
        decision = lodo.decision("hybrid")
        # training rows for the augmented decision: as lodo_fit builds them (inner re-ranker per domain)
        train_rows = []
        for domain in others:
            inner_others = [d for d in others if d is not domain]
            inner = replace(production, reranker=reranker_fit_on(inner_others, production.fusion) if inner_others else None)
            train_rows += rows_of(domain, domain.train, inner)
        model = augmented_fit(train_rows)
        test = rows_of(held, held.test, lodo)
        base = [decision.answerable(r["features"]) for r in test]
        probabilities = [augmented_probability(model, r) for r in test]
        extra = [p >= model[3] for p in probabilities]
        # a floor on the signal alone, below all but VETO_QUANTILE of the training in-scope questions
        floor = float(np.quantile([r["signal"] for r in train_rows if r["expected"] is not None], VETO_QUANTILE))
        veto = [a and r["signal"] >= floor for r, a in zip(test, base, strict=True)]
        pooled["LODO"] += list(zip(test, base, strict=True)) if held.name != "mall" else []
        pooled[f"LODO + {SIGNAL[0]}"] += list(zip(test, extra, strict=True)) if held.name != "mall" else []
        floored = f"LODO, {SIGNAL[0]} floor ({VETO_QUANTILE:.0%})"
        pooled[floored] += list(zip(test, veto, strict=True)) if held.name != "mall" else []
        inside = [r for r in test if r["expected"] is not None]
        lines += [f"## {held.name} left out", "",
                  f"LODO decision threshold {decision.threshold:.3f}; augmented threshold {model[3]:.3f} "
                  f"(weight of `{SIGNAL[0]}`, standardised: {model[1][-1]:.2f}).", "",
                  f"In-scope questions (n={len(inside)}), quartiles (25/50/75 %): "
                  + "; ".join(f"{name} {_quartiles([getattr(r['features'], name) for r in inside])}" for name in SHOWN)
                  + f"; {SIGNAL[0]} {_quartiles([r['signal'] for r in inside])}; LODO probability "
                  + _quartiles([decision.probability(r["features"]) for r in inside]), "",
                  "| question | top entry | " + " | ".join(SHOWN)
                  + f" | {SIGNAL[0]} | P (LODO) | accepted | P (+{SIGNAL[0]}) | accepted |",
                  "|---" * (len(SHOWN) + 7) + "|"]
        for r, a, p, e in zip(test, base, probabilities, extra, strict=True):
            if r["expected"] is None:
                f = r["features"]
                lines.append(f"| {r['query']} | {r['top_key']} | " + " | ".join(f"{getattr(f, n):.3f}" for n in SHOWN)
                             + f" | {r['signal']:.3f} | {decision.probability(f):.3f} | {'yes' if a else 'no'}"
                             f" | {p:.3f} | {'yes' if e else 'no'} |")
        oos_base, in_base = rates(test, base)
        oos_extra, in_extra = rates(test, extra)
        oos_veto, in_veto = rates(test, veto)
        lines += ["", f"out-of-scope rejected / in-scope rejected: LODO {oos_base:.3f} / {in_base:.3f}; "
                  f"LODO + {SIGNAL[0]} {oos_extra:.3f} / {in_extra:.3f}; LODO with a floor on {SIGNAL[0]} at {floor:.3f} "
                  f"(training in-scope {VETO_QUANTILE:.0%} quantile) {oos_veto:.3f} / {in_veto:.3f}", ""]
        print(f"{held.name}: done, {time.perf_counter() - started:.0f} s", flush=True)
    lines += ["## New domains pooled (held out)", "", "| decision | out-of-scope rejected | in-scope rejected |",
              "|---|---|---|"]
    for name, pairs in pooled.items():
        oos, inside_rate = rates([r for r, _ in pairs], [a for _, a in pairs])
        lines.append(f"| {name} | {oos:.3f} | {inside_rate:.3f} |")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines += ["", f"Run: {time.perf_counter() - started:.0f} s, {os.cpu_count()} cores, load average {load}."]
    report = "\n".join(lines) + "\n"
    RESULTS.with_name(RESULTS.name + ("" if SIGNAL[0] == "relative" else "_" + SIGNAL[0])).with_suffix(".md").write_text(report)
    return report


def _quartiles(values: list[float]) -> str:
    q = np.quantile(values, [0.25, 0.5, 0.75])
    return "/".join(f"{v:.2f}" for v in q)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signal", choices=sorted(SIGNALS), default="relative",
                        help="the extra signal tried (answer: writes kb_oos_diagnostic_answer.md)")
    name = parser.parse_args().signal
    SIGNAL = (name, SIGNALS[name])
    with tempfile.TemporaryDirectory(prefix="kb-oos-") as workdir:
        django_setup(Path(workdir))
        print(run())
