"""Leave-one-domain-out retrieval evaluation (``python bench/kb_search.py --lodo``).

Domains (``bench/data/kb_domains``): the mall demo, an airport-rail station, a museum. For each
domain left out, the learned parts (the re-ranker and the answerable decision) are fitted on
the other domains' questions only and tested on the left-out domain's questions. Compared:

- **before**: the production ``calibration.json`` (fitted on the mall's calibration set);
- **LODO**: re-ranker and decision fitted on the other domains;
- **LODO + self**: the same, the threshold then set by self-calibration on the left-out
  domain's own FAQ entries (``knowledgebase.retrieval.self_calibration``; distractors: the
  other domains' FAQ phrasings), never its questions;
- **before + self**: production calibration with self-calibration, what the runtime does with
  KB_SELF_CALIBRATION on (off by default).

The fusion weights stay the production ones (chosen on the mall calibration set): clean for
the rail and museum folds, not for the mall's. Writes ``bench/results/kb_search_lodo.md`` and ``.json``.
"""
import json
import os
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kb_search import DATA, DEMO_FAQS, LANGUAGES, MAX_FALSE_REJECTION, ROOT, Query, load_queries

DOMAINS = DATA / "kb_domains"
RESULTS = ROOT / "bench" / "results" / "kb_search_lodo"
CONFIGS = ("before", "before + self", "LODO", "LODO + self")


@dataclass
class Domain:
    name: str
    faqs: Path
    test: list[Query]
    train: list[Query]  # what is fitted on when another domain is left out
    index: Any = None
    vectors: dict[str, Any] | None = None  # query text -> raw query vector


def domains() -> list[Domain]:
    out = [Domain("mall", DEMO_FAQS, load_queries(DATA / "kb_eval.jsonl"), load_queries(DATA / "kb_calibration.jsonl"))]
    for name in ("rail", "museum"):
        questions = load_queries(DOMAINS / name / "questions.jsonl")
        out.append(Domain(name, DOMAINS / name / "faqs.jsonl", questions, questions))
    return out


def index_load(domain: Domain) -> None:
    """Import the domain's FAQs alone, as a venue would, and keep its index."""
    from django.core.management import call_command

    from knowledgebase.indexing import index_version_bump, kb_index
    from knowledgebase.models import FaqEntry

    FaqEntry.objects.all().delete()
    call_command("import_faqs", str(domain.faqs), "--publish", stdout=open(os.devnull, "w"))  # noqa: SIM115
    index_version_bump()
    loaded = kb_index()
    assert loaded.encoder is not None, "--lodo needs the e5 and USE models (set MODELS_DIR)"
    domain.index = loaded.index
    texts = sorted({q.query for q in domain.test + domain.train})
    domain.vectors = dict(zip(texts, loaded.encoder.queries(texts), strict=True))


def ranked(domain: Domain, queries: list[Query], calibration: Any) -> list[tuple[list[str], Any]]:
    from knowledgebase.retrieval.text import lexical_terms

    out = []
    for q in queries:
        assert domain.vectors is not None
        ranking = domain.index.rank(query_vector=domain.vectors[q.query], terms=lexical_terms(q.query),
                                    language=q.language, params=calibration.fusion, reranker=calibration.reranker)
        out.append(([domain.index.groups[c.group] for c in ranking.candidates], ranking.features))
    return out


def reranker_fit_on(train: list[Domain], fusion: Any) -> Any:
    import numpy as np

    from knowledgebase.retrieval.rerank import reranker_fit
    from knowledgebase.retrieval.text import lexical_terms

    lists, right = [], []
    for domain in train:
        assert domain.vectors is not None
        for q in domain.train:
            if not q.expected:
                continue
            groups, x = domain.index.candidate_features(query_vector=np.asarray(domain.vectors[q.query]),
                                                        terms=lexical_terms(q.query), language=q.language, params=fusion)
            keys = [domain.index.groups[g] for g in groups]
            if q.expected in keys:
                lists.append(x)
                right.append(keys.index(q.expected))
    return reranker_fit(lists, right)


def lodo_fit(train: list[Domain], production: Any) -> Any:
    """Re-ranker on all ``train`` domains; the decision on each training domain's questions as
    re-ranked by a re-ranker fitted without that domain (as the left-out domain will be)."""
    from knowledgebase.retrieval.calibrate import decision_fit
    from knowledgebase.retrieval.decision import HYBRID_FEATURES

    reranker = reranker_fit_on(train, production.fusion)
    rows, labels = [], []
    for domain in train:
        others = [d for d in train if d is not domain]
        inner = replace(production, reranker=reranker_fit_on(others, production.fusion) if others else None)
        for (_, features), q in zip(ranked(domain, domain.train, inner), domain.train, strict=True):
            if features is not None:
                rows.append(features.as_list())
                labels.append(q.expected is not None)
    decision = decision_fit(rows, labels, names=HYBRID_FEATURES, max_false_rejection=MAX_FALSE_REJECTION)
    return replace(production, reranker=reranker, decisions={**production.decisions, "hybrid": decision},
                   source="LODO fit on " + ", ".join(d.name for d in train))


def self_calibrated(domain: Domain, others: list[Domain], calibration: Any) -> tuple[Any, Any]:
    from knowledgebase.indexing import kb_encoder, kb_out_of_scope_examples
    from knowledgebase.retrieval.self_calibration import self_calibration_fit

    encoder = kb_encoder()
    assert encoder is not None
    distractors = [(text, item.language) for other in others for item in other.index.items if item.kind == "faq"
                   for text in (item.question, *item.alternates)]
    fitted = self_calibration_fit(domain.index, encoder, calibration, distractors, kb_out_of_scope_examples(encoder))
    if fitted is None:
        return calibration, None
    hybrid = replace(calibration.decision("hybrid"), threshold=fitted.threshold)
    return replace(calibration, decisions={**calibration.decisions, "hybrid": hybrid}), fitted


def evaluate(domain: Domain, calibration: Any) -> list[dict[str, Any]]:
    decision = calibration.decision("hybrid")
    return [{"query": q.query, "language": q.language, "expected": q.expected, "keys": keys[:5],
             "answerable": bool(keys) and features is not None and decision.answerable(features)}
            for (keys, features), q in zip(ranked(domain, domain.test, calibration), domain.test, strict=True)]


def scores(outcomes: list[dict[str, Any]]) -> dict[str, float | int | None]:
    def rate(values: list[bool]) -> float | None:
        return round(statistics.mean(values), 3) if values else None

    inside = [o for o in outcomes if o["expected"]]
    outside = [o for o in outcomes if not o["expected"]]
    return {"n": len(inside), "n_oos": len(outside),
            "hit@1": rate([bool(o["keys"]) and o["keys"][0] == o["expected"] for o in inside]),
            "hit@3": rate([o["expected"] in o["keys"][:3] for o in inside]),
            "oos rejected": rate([not o["answerable"] for o in outside]),
            "in-scope rejected": rate([not o["answerable"] for o in inside])}


def breakdown(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, float | int | None]]:
    by_language = defaultdict(list)
    for o in outcomes:
        by_language[o["language"]].append(o)
    return {**{language: scores(by_language[language]) for language in LANGUAGES if by_language[language]},
            "overall": scores(outcomes)}


def _cell(m: dict[str, Any]) -> str:
    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    return f"{f(m['hit@1'])} / {f(m['hit@3'])} / {f(m['oos rejected'])} / {f(m['in-scope rejected'])}"


def report_table(title: str, rows: dict[str, dict[str, dict[str, Any]]], configs: tuple[str, ...] = CONFIGS) -> str:
    """``rows[config][language]`` -> one table, languages down, configurations across."""
    languages = [language for language in (*LANGUAGES, "overall") if language in rows[configs[0]]]
    lines = [f"### {title}", "", "cells: hit@1 / hit@3 / out-of-scope rejected / in-scope rejected", "",
             "| language | n (oos) | " + " | ".join(configs) + " |", "|---" * (len(configs) + 2) + "|"]
    for language in languages:
        m = rows[configs[0]][language]
        lines.append(f"| {language} | {m['n']} ({m['n_oos']}) | " + " | ".join(_cell(rows[c][language]) for c in configs)
                     + " |")
    return "\n".join(lines)


def run_lodo() -> str:
    from knowledgebase.retrieval.decision import calibration_load

    started = time.perf_counter()
    all_domains = domains()
    for domain in all_domains:
        index_load(domain)
        print(f"{domain.name}: indexed, {time.perf_counter() - started:.0f} s", flush=True)
    production = calibration_load()
    results: dict[str, Any] = {}
    outcomes: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for domain in all_domains:
        others = [d for d in all_domains if d is not domain]
        lodo = lodo_fit(others, production)
        print(f"{domain.name}: LODO fitted, {time.perf_counter() - started:.0f} s", flush=True)
        before_self, fitted_before = self_calibrated(domain, others, production)
        lodo_self, fitted_lodo = self_calibrated(domain, others, lodo)
        print(f"{domain.name}: self-calibrated, {time.perf_counter() - started:.0f} s", flush=True)
        configs = {"before": production, "before + self": before_self, "LODO": lodo, "LODO + self": lodo_self}
        outcomes[domain.name] = {name: evaluate(domain, calibration) for name, calibration in configs.items()}
        results[domain.name] = {
            "entries": len(domain.index.groups),
            "thresholds": {"before": production.decision("hybrid").threshold, "LODO": lodo.decision("hybrid").threshold,
                           "before + self": fitted_before.as_dict() if fitted_before else None,
                           "LODO + self": fitted_lodo.as_dict() if fitted_lodo else None},
            "scores": {name: breakdown(o) for name, o in outcomes[domain.name].items()},
            "misses": {name: [o for o in out if (o["expected"] and (not o["keys"] or o["keys"][0] != o["expected"]))
                              or (not o["expected"] and o["answerable"])] for name, out in outcomes[domain.name].items()
                       if name in ("before", "LODO + self")},
        }
    held_out = ("rail", "museum")
    pooled = {name: breakdown([o for d in held_out for o in outcomes[d][name]]) for name in CONFIGS}
    results["new domains pooled"] = {"scores": pooled}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    sections = [
        "# Knowledge-base search: leave-one-domain-out\n",
        __doc__.split("\n\n", 1)[1].strip(),
        f"\nRun: {time.perf_counter() - started:.0f} s, {os.cpu_count()} cores, load average {load}. "
        "Latency is not measured here (ranking is run directly on stored query vectors); see "
        "`kb_search.md` for the 1,000-entry run.",
        report_table("New domains pooled (rail + museum): the held-out target", pooled),
    ]
    for domain in all_domains:
        r = results[domain.name]
        sections.append(report_table(f"{domain.name} ({r['entries']} entries) left out", r["scores"]))
        sections.append("thresholds: " + json.dumps(r["thresholds"]))
    report = "\n\n".join(sections) + "\n"
    RESULTS.with_suffix(".md").write_text(report)
    RESULTS.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return report
