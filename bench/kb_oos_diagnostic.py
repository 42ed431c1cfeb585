"""Why near-domain out-of-scope questions pass the answerable decision, and whether one more
signal separates them (``python bench/kb_oos_diagnostic.py``; issue #22).

For each domain left out, the re-ranker and decision are fitted on the other domains exactly as
``kb_lodo`` does ("LODO"); the script then lists each held-out out-of-scope question with its best
entry, the decision's signals and probability, next to where the held-out in-scope questions
fall. It then tries one extra signal, **entry-relative similarity**: the query's best similarity
to the top entry's phrasings less how similar those phrasings are to one another (for each
phrasing, its nearest sibling; averaged). A customer's question about the entry should sit about
as close to it as its own alternates do; a near-domain question that only shares the topic sits
farther. The augmented decision is fitted on the training domains only (same procedure and
false-rejection target as ``calibrate.decision_fit``) and tested on the held-out one. Nothing
here changes the production decision. Writes ``bench/results/kb_oos_diagnostic.md``.
"""
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

RESULTS = ROOT / "bench" / "results" / "kb_oos_diagnostic.md"
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


def rows_of(domain: Any, queries: list[Any], calibration: Any) -> list[dict[str, Any]]:
    from kb_lodo import ranked

    out = []
    for (keys, features), q in zip(ranked(domain, queries, calibration), queries, strict=True):
        if features is None or not keys:
            continue
        group = domain.index.groups.index(keys[0])
        out.append({"query": q.query, "language": q.language, "expected": q.expected, "top_key": keys[0],
                    "features": features, "relative": entry_relative(domain.index, group, domain.vectors[q.query],
                                                                     q.language)})
    return out


def augmented_fit(train: list[dict[str, Any]]) -> tuple[Any, np.ndarray, np.ndarray, float]:
    """The production feature set plus ``relative``, fitted as ``decision_fit`` fits."""
    from knowledgebase.retrieval.calibrate import MONOTONE, logistic_fit
    from knowledgebase.retrieval.decision import FEATURE_NAMES

    x = np.array([[*r["features"].as_list(), r["relative"]] for r in train])
    y = np.array([r["expected"] is not None for r in train], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    nonnegative = np.array([name in MONOTONE for name in FEATURE_NAMES] + [True])
    weights, bias = logistic_fit((x - mean) / scale, y, nonnegative=nonnegative)
    p = 1 / (1 + np.exp(-(((x - mean) / scale) @ weights + bias)))
    threshold = float(np.quantile(p[y == 1], MAX_FALSE_REJECTION))
    return (mean, scale), weights, np.array([bias]), threshold


def augmented_probability(model: tuple[Any, np.ndarray, np.ndarray, float], row: dict[str, Any]) -> float:
    (mean, scale), weights, bias, _ = model
    x = (np.array([*row["features"].as_list(), row["relative"]]) - mean) / scale
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
    pooled: dict[str, list[tuple[dict[str, Any], bool]]] = {"LODO": [], "LODO + relative": [],
                                                            f"LODO, relative floor ({VETO_QUANTILE:.0%})": []}
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
        # a floor on ``relative`` alone, below all but VETO_QUANTILE of the training in-scope questions
        floor = float(np.quantile([r["relative"] for r in train_rows if r["expected"] is not None], VETO_QUANTILE))
        veto = [a and r["relative"] >= floor for r, a in zip(test, base, strict=True)]
        pooled["LODO"] += list(zip(test, base, strict=True)) if held.name != "mall" else []
        pooled["LODO + relative"] += list(zip(test, extra, strict=True)) if held.name != "mall" else []
        pooled[f"LODO, relative floor ({VETO_QUANTILE:.0%})"] += list(zip(test, veto, strict=True)) if held.name != "mall" else []
        inside = [r for r in test if r["expected"] is not None]
        lines += [f"## {held.name} left out", "",
                  f"LODO decision threshold {decision.threshold:.3f}; augmented threshold {model[3]:.3f} "
                  f"(weight of `relative`, standardised: {model[1][-1]:.2f}).", "",
                  f"In-scope questions (n={len(inside)}), quartiles (25/50/75 %): "
                  + "; ".join(f"{name} {_quartiles([getattr(r['features'], name) for r in inside])}" for name in SHOWN)
                  + f"; relative {_quartiles([r['relative'] for r in inside])}; LODO probability "
                  + _quartiles([decision.probability(r["features"]) for r in inside]), "",
                  "| question | top entry | " + " | ".join(SHOWN) + " | relative | P (LODO) | accepted | P (+rel) | accepted |",
                  "|---" * (len(SHOWN) + 7) + "|"]
        for r, a, p, e in zip(test, base, probabilities, extra, strict=True):
            if r["expected"] is None:
                f = r["features"]
                lines.append(f"| {r['query']} | {r['top_key']} | " + " | ".join(f"{getattr(f, n):.3f}" for n in SHOWN)
                             + f" | {r['relative']:.3f} | {decision.probability(f):.3f} | {'yes' if a else 'no'}"
                             f" | {p:.3f} | {'yes' if e else 'no'} |")
        oos_base, in_base = rates(test, base)
        oos_extra, in_extra = rates(test, extra)
        oos_veto, in_veto = rates(test, veto)
        lines += ["", f"out-of-scope rejected / in-scope rejected: LODO {oos_base:.3f} / {in_base:.3f}; "
                  f"LODO + relative {oos_extra:.3f} / {in_extra:.3f}; LODO with a floor on relative at {floor:.3f} "
                  f"(training in-scope {VETO_QUANTILE:.0%} quantile) {oos_veto:.3f} / {in_veto:.3f}", ""]
        print(f"{held.name}: done, {time.perf_counter() - started:.0f} s", flush=True)
    lines += ["## Rail + museum pooled (held out)", "", "| decision | out-of-scope rejected | in-scope rejected |",
              "|---|---|---|"]
    for name, pairs in pooled.items():
        oos, inside_rate = rates([r for r, _ in pairs], [a for _, a in pairs])
        lines.append(f"| {name} | {oos:.3f} | {inside_rate:.3f} |")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines += ["", f"Run: {time.perf_counter() - started:.0f} s, {os.cpu_count()} cores, load average {load}."]
    report = "\n".join(lines) + "\n"
    RESULTS.write_text(report)
    return report


def _quartiles(values: list[float]) -> str:
    q = np.quantile(values, [0.25, 0.5, 0.75])
    return "/".join(f"{v:.2f}" for v in q)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kb-oos-") as workdir:
        django_setup(Path(workdir))
        print(run())
