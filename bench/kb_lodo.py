"""Leave-one-domain-out retrieval evaluation (``python bench/kb_search.py --lodo``).

Domains (``bench/data/kb_domains``): the mall demo, an airport-rail station, a museum, a bank. For each
domain left out, the learned parts (the re-ranker and the answerable decision) are fitted on
the other domains' questions only and tested on the left-out domain's questions. Compared:

- **before**: the production ``calibration.json`` (fitted on the mall's calibration set);
- **LODO**: re-ranker and decision fitted on the other domains;
- **LODO + self**: the same, the threshold then set by self-calibration on the left-out
  domain's own FAQ entries (``knowledgebase.retrieval.self_calibration``; distractors: the
  other domains' FAQ phrasings), never its questions;
- **before + self**: production calibration with self-calibration, what the runtime does with
  KB_SELF_CALIBRATION on (off by default).
- **LODO + background**: as LODO, each knowledge base also given the other domains' FAQs as a
  background (a null model, ``index.background_index``), the decision weighing how far the best
  entry is ahead of the nearest background entry (``background``); on the training domains each
  one's background is the other training domains, never the left-out one.
- **LODO + background floor**: the LODO decision, and a question is also declined when its
  ``background`` value is under a floor: the 1 % quantile of the training domains' in-scope values.

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
CONFIGS = ("before", "before + self", "LODO", "LODO + self", "LODO + background", "LODO + background floor")
# the floor: this quantile of the training domains' in-scope questions' ``background`` values
FLOOR_QUANTILE = 0.01
NEW_DOMAINS = ("rail", "museum", "bank")  # never fitted on, each when held out: the target


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
    for name in NEW_DOMAINS:
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


def ranked(domain: Domain, queries: list[Query], calibration: Any, index: Any = None) -> list[tuple[list[str], Any]]:
    """Each question's ranked keys and decision features, on ``index`` (the domain's own by default)."""
    from knowledgebase.retrieval.text import lexical_terms

    index = index or domain.index
    out = []
    for q in queries:
        assert domain.vectors is not None
        ranking = index.rank(query_vector=domain.vectors[q.query], terms=lexical_terms(q.query),
                             language=q.language, params=calibration.fusion, reranker=calibration.reranker)
        out.append(([index.groups[c.group] for c in ranking.candidates], ranking.features))
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


def with_background(domain: Domain, sources: list[Domain]) -> Any:
    """The domain's index with the ``sources``' FAQs as its background (``index.background_index``)."""
    from knowledgebase.indexing import kb_encoder, kb_out_of_scope_examples
    from knowledgebase.retrieval.index import SearchIndex

    key = (domain.name, *sorted(source.name for source in sources))
    if key not in _BACKGROUND_INDEXES:
        encoder = kb_encoder()
        assert encoder is not None
        background = [replace(item, group=f"{source.name}:{item.group}") for source in sources
                      for item in source.index.items if item.kind == "faq"]
        _BACKGROUND_INDEXES[key] = SearchIndex(list(domain.index.items), domain.index.centroids,
                                               kb_out_of_scope_examples(encoder), split=domain.index.split,
                                               background=background)
    return _BACKGROUND_INDEXES[key]


_BACKGROUND_INDEXES: dict[tuple[str, ...], Any] = {}


def dropped_background(domain: Domain, sources: list[Domain]) -> list[str]:
    """The ``sources``' entries that ``background_index`` drops as answered by the domain's own."""
    background = with_background(domain, sources).background
    kept = set(background.groups) if background is not None else set()
    return sorted({f"{source.name}:{item.group}" for source in sources for item in source.index.items
                   if item.kind == "faq"} - kept)


def background_floor(train: list[Domain], calibration: Any) -> float:
    """A floor on ``background`` under the LODO decision: the ``FLOOR_QUANTILE`` of its values on the
    training domains' in-scope questions, each domain with the other training domains as background."""
    import numpy as np

    values = [features.background for domain in train
              for (_, features), q in zip(ranked(domain, domain.train, calibration,
                                                 with_background(domain, [d for d in train if d is not domain])),
                                          domain.train, strict=True)
              if q.expected and features is not None]
    return round(float(np.quantile(values, FLOOR_QUANTILE)), 4)


def lodo_fit(train: list[Domain], production: Any, *, background: bool = False) -> Any:
    """Re-ranker on all ``train`` domains; the decision on each training domain's questions as
    re-ranked by a re-ranker fitted without that domain (as the left-out domain will be). With
    ``background``, each training domain's index has the other training domains' FAQs as its
    background, and the decision weighs the ``background`` feature too."""
    from knowledgebase.retrieval.calibrate import decision_fit
    from knowledgebase.retrieval.decision import BACKGROUND_FEATURES, HYBRID_FEATURES

    reranker = reranker_fit_on(train, production.fusion)
    rows, labels = [], []
    for domain in train:
        others = [d for d in train if d is not domain]
        inner = replace(production, reranker=reranker_fit_on(others, production.fusion) if others else None)
        index = with_background(domain, others) if background else None
        for (_, features), q in zip(ranked(domain, domain.train, inner, index), domain.train, strict=True):
            if features is not None:
                rows.append(features.as_list())
                labels.append(q.expected is not None)
    decision = decision_fit(rows, labels, names=BACKGROUND_FEATURES if background else HYBRID_FEATURES,
                            max_false_rejection=MAX_FALSE_REJECTION)
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


def rank_cpu_ms(domain: Domain, calibration: Any, index: Any = None) -> tuple[float, float]:
    """p50 and p95 of one ``rank`` call's CPU time (this thread's; the query vector is given) over
    the domain's test questions: what the background adds to a search, less exposed to the load."""
    import numpy as np

    from knowledgebase.retrieval.text import lexical_terms

    index = index or domain.index
    assert domain.vectors is not None
    times = []
    for q in domain.test:
        terms = lexical_terms(q.query)
        started = time.thread_time()
        index.rank(query_vector=domain.vectors[q.query], terms=terms, language=q.language, params=calibration.fusion,
                   reranker=calibration.reranker)
        times.append((time.thread_time() - started) * 1000)
    p50, p95 = np.quantile(times, [0.5, 0.95])
    return round(float(p50), 2), round(float(p95), 2)


def evaluate(domain: Domain, calibration: Any, index: Any = None) -> list[dict[str, Any]]:
    decision = calibration.decision("hybrid")
    return [{"query": q.query, "language": q.language, "expected": q.expected, "keys": keys[:5],
             "answerable": bool(keys) and features is not None and decision.answerable(features),
             "probability": round(decision.probability(features), 4) if features is not None else None,
             "background": round(features.background, 4) if features is not None else None}
            for (keys, features), q in zip(ranked(domain, domain.test, calibration, index), domain.test, strict=True)]


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


def run_lodo(*, self_calibration: bool = True) -> str:
    """The report; without ``self_calibration`` (faster) its two columns are left out."""
    from knowledgebase.retrieval.decision import calibration_load

    started = time.perf_counter()
    all_domains = domains()
    for domain in all_domains:
        index_load(domain)
        print(f"{domain.name}: indexed, {time.perf_counter() - started:.0f} s", flush=True)
    shown = CONFIGS if self_calibration else tuple(name for name in CONFIGS if "self" not in name)
    production = calibration_load()
    results: dict[str, Any] = {}
    outcomes: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for domain in all_domains:
        others = [d for d in all_domains if d is not domain]
        lodo = lodo_fit(others, production)
        lodo_background = lodo_fit(others, production, background=True)
        print(f"{domain.name}: LODO fitted, {time.perf_counter() - started:.0f} s", flush=True)
        configs = {"before": production, "LODO": lodo}
        fitted_before = fitted_lodo = None
        if self_calibration:
            configs["before + self"], fitted_before = self_calibrated(domain, others, production)
            configs["LODO + self"], fitted_lodo = self_calibrated(domain, others, lodo)
            print(f"{domain.name}: self-calibrated, {time.perf_counter() - started:.0f} s", flush=True)
        outcomes[domain.name] = {name: evaluate(domain, calibration) for name, calibration in configs.items()}
        outcomes[domain.name]["LODO + background"] = evaluate(domain, lodo_background, with_background(domain, others))
        floor = background_floor(others, lodo)
        outcomes[domain.name]["LODO + background floor"] = [
            {**o, "answerable": o["answerable"] and o["background"] is not None and o["background"] >= floor}
            for o in evaluate(domain, lodo, with_background(domain, others))]
        results[domain.name] = {
            "entries": len(domain.index.groups),
            "background dropped (answered here)": dropped_background(domain, others),
            "rank cpu ms (p50, p95)": {"LODO": rank_cpu_ms(domain, lodo),
                                       "LODO + background": rank_cpu_ms(domain, lodo_background,
                                                                        with_background(domain, others))},
            "thresholds": {"before": production.decision("hybrid").threshold, "LODO": lodo.decision("hybrid").threshold,
                           "LODO + background": lodo_background.decision("hybrid").as_dict(),
                           "LODO + background floor": floor,
                           "before + self": fitted_before.as_dict() if fitted_before else None,
                           "LODO + self": fitted_lodo.as_dict() if fitted_lodo else None},
            "scores": {name: breakdown(o) for name, o in outcomes[domain.name].items()},
            # wrong first entry, an in-scope question declined, an out-of-scope one answered
            "misses": {name: [o for o in out if (o["expected"] and (not o["keys"] or o["keys"][0] != o["expected"]
                                                                    or not o["answerable"]))
                              or (not o["expected"] and o["answerable"])] for name, out in outcomes[domain.name].items()
                       if name in ("before", "LODO", "LODO + background", "LODO + background floor")},
        }
    pooled = {name: breakdown([o for d in NEW_DOMAINS for o in outcomes[d][name]]) for name in shown}
    first_two = {name: breakdown([o for d in ("rail", "museum") for o in outcomes[d][name]]) for name in shown}
    results["new domains pooled"] = {"scores": pooled}
    results["rail + museum pooled"] = {"scores": first_two}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    sections = [
        "# Knowledge-base search: leave-one-domain-out\n",
        __doc__.split("\n\n", 1)[1].strip(),
        f"\nRun: {time.perf_counter() - started:.0f} s, {os.cpu_count()} cores, load average {load}. "
        "Latency is not measured here (ranking is run directly on stored query vectors); see "
        "`kb_search.md` for the 1,000-entry run.",
        report_table("New domains pooled (rail + museum + bank): the held-out target", pooled, shown),
        report_table("Rail + museum pooled (the two domains of the earlier runs)", first_two, shown),
    ]
    for domain in all_domains:
        r = results[domain.name]
        sections.append(report_table(f"{domain.name} ({r['entries']} entries) left out", r["scores"], shown))
        sections.append("thresholds: " + json.dumps(r["thresholds"]))
        sections.append("rank() CPU ms (p50, p95), query vector given: " + json.dumps(r["rank cpu ms (p50, p95)"]))
    report = "\n\n".join(sections) + "\n"
    RESULTS.with_suffix(".md").write_text(report)
    RESULTS.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return report
